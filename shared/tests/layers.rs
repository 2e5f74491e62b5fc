//! The crate's layers, read from its sources as a reader would: every `use crate::…`,
//! `crate::…` and `super::…` path outside test code names the file it comes from. No file
//! may import from a higher layer, and neither files nor the modules of a layer may form a
//! cycle. What `lib.rs`'s map promises, checked on every test run.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A file's module path: `["domains", "orders", "place"]`.
type Module = Vec<String>;

/// The layers, lowest first; a module's layer is its first segment's.
const LAYERS: [&[&str]; 5] = [
    &["values"],
    &["storage"],
    &["mechanisms"],
    &["domains"],
    &["adapters", "follow_ups"],
];

fn layer_of(module: &Module) -> usize {
    let first = module.first().map(String::as_str).unwrap_or_default();
    LAYERS
        .iter()
        .position(|names| names.contains(&first))
        .unwrap_or_else(|| panic!("{first} is in no layer of lib.rs's map"))
}

/// The unit within a layer whose cycles count: `domains/orders`, `mechanisms/outbox`, `storage`.
fn unit_of(module: &Module) -> String {
    let depth = if ["values", "mechanisms", "domains"].contains(&module[0].as_str()) {
        2
    } else {
        1
    };
    module[..depth.min(module.len())].join("/")
}

struct Crate {
    /// Every file that is not test code, by module, with its text (test items removed).
    files: BTreeMap<Module, String>,
}

impl Crate {
    fn read(src: &Path) -> Self {
        let mut all = BTreeMap::new();
        for path in rust_files(src) {
            let relative = path.strip_prefix(src).unwrap().with_extension("");
            let mut module: Module = relative
                .iter()
                .map(|part| part.to_string_lossy().into_owned())
                .collect();
            if matches!(module.last().map(String::as_str), Some("mod" | "lib")) {
                module.pop();
            }
            all.insert(module, std::fs::read_to_string(&path).unwrap());
        }
        let test_only: BTreeSet<Module> = all
            .iter()
            .flat_map(|(module, text)| {
                test_children(text)
                    .into_iter()
                    .map(move |child| [module.clone(), vec![child]].concat())
            })
            .collect();
        let files = all
            .into_iter()
            .filter(|(module, _)| !test_only.iter().any(|test| module.starts_with(test)))
            .map(|(module, text)| (module, without_tests(&text)))
            .collect();
        Self { files }
    }

    /// The files each file imports from, by the longest module prefix of each path.
    fn imports(&self) -> BTreeMap<Module, BTreeSet<Module>> {
        self.files
            .iter()
            .map(|(module, text)| {
                let found = paths(text)
                    .into_iter()
                    .filter_map(|path| self.resolve(module, &path))
                    .filter(|target| target != module && !module.starts_with(target))
                    .collect();
                (module.clone(), found)
            })
            .collect()
    }

    fn resolve(&self, from: &Module, path: &[String]) -> Option<Module> {
        let (mut base, rest) = match path.first().map(String::as_str) {
            Some("crate") => (Vec::new(), &path[1..]),
            Some("self") => (from.clone(), &path[1..]),
            Some("super") => {
                let supers = path.iter().take_while(|part| *part == "super").count();
                (from[..from.len().saturating_sub(supers)].to_vec(), &path[supers..])
            }
            _ => return None,
        };
        base.extend(rest.iter().cloned());
        (0..=base.len())
            .rev()
            .map(|n| base[..n].to_vec())
            .find(|prefix| self.files.contains_key(prefix))
    }
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            files.push(path);
        }
    }
    files
}

/// Modules declared `#[cfg(test)] mod name;`: test code in a file of its own.
fn test_children(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    lines
        .windows(2)
        .filter(|pair| pair[0] == "#[cfg(test)]")
        .filter_map(|pair| {
            pair[1]
                .strip_prefix("mod ")
                .or_else(|| pair[1].strip_prefix("pub mod "))
        })
        .filter_map(|rest| rest.strip_suffix(';'))
        .map(str::to_owned)
        .collect()
}

/// The text without comments and without the items marked `#[cfg(test)]`.
fn without_tests(text: &str) -> String {
    let lines: Vec<&str> = text
        .lines()
        .map(|line| line.split("//").next().unwrap_or_default())
        .collect();
    let mut kept = Vec::new();
    let mut index = 0;
    while index < lines.len() {
        if lines[index].trim() != "#[cfg(test)]" {
            kept.push(lines[index]);
            index += 1;
            continue;
        }
        index += 1;
        while index < lines.len() && lines[index].trim().starts_with("#[") {
            index += 1;
        }
        let (mut depth, mut opened) = (0i32, false);
        while index < lines.len() {
            let line = lines[index];
            index += 1;
            depth += line.matches('{').count() as i32 - line.matches('}').count() as i32;
            opened |= line.contains('{');
            if (!opened && line.trim_end().ends_with(';')) || (opened && depth <= 0) {
                break;
            }
        }
    }
    kept.join("\n")
}

/// Every path the text names from `crate`, `self` or `super`, `use` trees expanded.
fn paths(text: &str) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("use ") {
        let at_word =
            start == 0 || !rest.as_bytes()[start - 1].is_ascii_alphanumeric() && rest.as_bytes()[start - 1] != b'_';
        let tail = &rest[start + 4..];
        let end = tail.find(';').unwrap_or(tail.len());
        if at_word {
            // `Name as Alias` keeps its name: the alias is cut at the marker before spaces go.
            let tree: String = tail[..end]
                .replace(" as ", ALIAS)
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect();
            expand(&tree, &[], &mut found);
        }
        rest = &tail[end.min(tail.len())..];
    }
    for (start, _) in text.match_indices("crate::").chain(text.match_indices("super::")) {
        if start > 0 && (text.as_bytes()[start - 1].is_ascii_alphanumeric() || text.as_bytes()[start - 1] == b'_') {
            continue;
        }
        let path: String = text[start..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
            .collect();
        found.push(segments(&path));
    }
    found.retain(|path| matches!(path.first().map(String::as_str), Some("crate" | "self" | "super")));
    found
}

/// Where a `use` tree's alias started, once its spaces are gone.
const ALIAS: &str = "@";

fn segments(path: &str) -> Vec<String> {
    path.split("::")
        .filter(|part| !part.is_empty())
        .map(|part| part.split(ALIAS).next().unwrap_or(part).to_owned())
        .collect()
}

/// `a::b::{c, d::{e, f}}` as `a::b::c`, `a::b::d::e`, `a::b::d::f`.
fn expand(tree: &str, prefix: &[String], out: &mut Vec<Vec<String>>) {
    let Some(open) = tree.find('{') else {
        let mut path = prefix.to_vec();
        path.extend(segments(tree));
        out.push(path);
        return;
    };
    let mut path = prefix.to_vec();
    path.extend(segments(&tree[..open]));
    let body = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
    let (mut depth, mut from) = (0, 0);
    for (index, c) in body.char_indices().chain([(body.len(), ',')]) {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                let item = &body[from..index];
                if !item.is_empty() {
                    expand(item, &path, out);
                }
                from = index + 1;
            }
            _ => {}
        }
    }
}

/// The strongly connected parts of a graph with more than one member (Tarjan).
fn cycles<N: Ord + Clone>(edges: &BTreeMap<N, BTreeSet<N>>) -> Vec<Vec<N>> {
    struct Walk<'a, N> {
        edges: &'a BTreeMap<N, BTreeSet<N>>,
        index: BTreeMap<N, usize>,
        low: BTreeMap<N, usize>,
        stack: Vec<N>,
        found: Vec<Vec<N>>,
    }
    impl<N: Ord + Clone> Walk<'_, N> {
        fn visit(&mut self, node: &N) {
            let number = self.index.len();
            self.index.insert(node.clone(), number);
            self.low.insert(node.clone(), number);
            self.stack.push(node.clone());
            for next in self.edges.get(node).into_iter().flatten() {
                if !self.index.contains_key(next) {
                    self.visit(next);
                    let low = self.low[node].min(self.low[next]);
                    self.low.insert(node.clone(), low);
                } else if self.stack.contains(next) {
                    let low = self.low[node].min(self.index[next]);
                    self.low.insert(node.clone(), low);
                }
            }
            if self.low[node] == self.index[node] {
                let at = self.stack.iter().position(|member| member == node).unwrap();
                let part = self.stack.split_off(at);
                if part.len() > 1 {
                    self.found.push(part);
                }
            }
        }
    }
    let mut walk = Walk {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        found: Vec::new(),
    };
    for node in edges.keys() {
        if !walk.index.contains_key(node) {
            walk.visit(node);
        }
    }
    walk.found
}

fn shared_crate() -> Crate {
    Crate::read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"))
}

#[test]
fn no_file_imports_from_a_higher_layer() {
    let krate = shared_crate();
    let upward: Vec<String> = krate
        .imports()
        .iter()
        .flat_map(|(from, targets)| targets.iter().map(move |to| (from, to)))
        .filter(|(from, to)| !from.is_empty() && layer_of(to) > layer_of(from))
        .map(|(from, to)| format!("{} → {}", from.join("/"), to.join("/")))
        .collect();
    assert!(upward.is_empty(), "imports from a higher layer: {upward:#?}");
}

#[test]
fn no_files_form_a_cycle() {
    let found = cycles(&shared_crate().imports());
    assert!(found.is_empty(), "file cycles: {found:?}");
}

#[test]
fn no_modules_form_a_cycle() {
    let mut units: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (from, targets) in shared_crate().imports() {
        if from.is_empty() {
            continue;
        }
        for to in targets {
            if unit_of(&from) != unit_of(&to) {
                units.entry(unit_of(&from)).or_default().insert(unit_of(&to));
            }
        }
    }
    assert!(units.len() > 15, "the reading found the modules: {units:?}");
    let found = cycles(&units);
    assert!(found.is_empty(), "module cycles: {found:?}");
}

#[test]
fn the_reading_finds_what_is_there() {
    let krate = shared_crate();
    let imports = krate.imports();
    let module = |path: &str| path.split('/').map(str::to_owned).collect::<Module>();
    // A known import, in a grouped `use`, and a known test-only file left out.
    assert!(imports[&module("domains/orders/place")].contains(&module("domains/stock/inventory")));
    assert!(imports[&module("domains/health/weekly")].contains(&module("domains/sellers/records")));
    // Names holding the letters of `as` (measures, assess, classify) are read whole.
    assert!(imports[&module("domains/health/week")].contains(&module("domains/figures/measures")));
    assert!(imports[&module("domains/health/week")].contains(&module("domains/stock/assess")));
    assert!(!krate.files.contains_key(&module("mechanisms/outbox/tests")));
    // The check itself sees a cycle where there is one.
    let looped = BTreeMap::from([
        (1, BTreeSet::from([2])),
        (2, BTreeSet::from([3])),
        (3, BTreeSet::from([1])),
    ]);
    assert_eq!(cycles(&looped).len(), 1);
}

#[test]
fn the_map_names_every_module_of_the_layers() {
    let lib = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs")).unwrap();
    let domains = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/domains/mod.rs")).unwrap();
    let units: BTreeSet<String> = shared_crate()
        .files
        .keys()
        .filter(|module| !module.is_empty())
        .map(unit_of)
        .collect();
    for unit in units {
        let name = unit.rsplit('/').next().unwrap();
        let named = if unit.starts_with("domains/") {
            domains.contains(name)
        } else {
            lib.contains(&format!("[`{unit}`]").replace('/', "::")) || lib.contains(&format!("[`{name}`]"))
        };
        assert!(named, "{unit} is not in the crate's map");
    }
}
