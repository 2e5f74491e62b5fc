//! Property tests of everything that reads input from outside: whatever arrives, nothing
//! panics, a refusal carries a code (and a field where it names one), and what should
//! round-trip does.
//!
//! CI runs the default 256 cases per property; `cargo xtask chaos --props` runs each with
//! `PROPTEST_CASES=1000000` in a release build.

use backoffice::domains::email::letter::{Rendered, one_line};
use backoffice::domains::email::locale::{MAX_TAG_LEN, language_tag};
use backoffice::domains::email::mime::{Envelope as MailEnvelope, message};
use backoffice::mechanisms::webhook::{
    Envelope, Rejection, SignatureError, SignatureVerifier, WebhookSecret, parse_data,
};
use backoffice::values::money::{Currency, Money};
use backoffice::values::pii::EmailAddress;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use proptest::prelude::*;
use serde_json::{Value, json};

/// Any JSON value, a few levels deep.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("JSON has no NaN", |f| f.is_finite())
            .prop_map(Value::from),
        "\\PC{0,24}".prop_map(Value::from),
        Just(Value::from("2026-11-22T10:00:00Z")),
        Just(Value::from("24.90")),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("[a-z_]{1,10}", inner, 0..4)
                .prop_map(|fields| Value::Object(fields.into_iter().collect())),
        ]
    })
}

/// One change to a JSON document: a value replaced, a key removed or a key added, at a path
/// chosen by the indexes (each taken modulo what is there).
#[derive(Debug, Clone)]
enum Mutation {
    Replace(Vec<usize>, Value),
    Remove(Vec<usize>),
    Insert(Vec<usize>, String, Value),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let path = prop::collection::vec(any::<usize>(), 0..4);
    prop_oneof![
        (path.clone(), any_json()).prop_map(|(path, value)| Mutation::Replace(path, value)),
        path.clone().prop_map(Mutation::Remove),
        (path, "[a-z_]{1,12}", any_json()).prop_map(|(path, key, value)| Mutation::Insert(path, key, value)),
    ]
}

/// The value at `path` (indexes into objects' and arrays' members), going as deep as it can.
fn walk<'a>(value: &'a mut Value, path: &[usize]) -> &'a mut Value {
    let Some((first, rest)) = path.split_first() else {
        return value;
    };
    let len = match value {
        Value::Object(fields) => fields.len(),
        Value::Array(items) => items.len(),
        _ => 0,
    };
    if len == 0 {
        return value;
    }
    match value {
        Value::Object(fields) => {
            let key = fields.keys().nth(first % len).cloned().unwrap_or_default();
            walk(fields.get_mut(&key).expect("a key just listed"), rest)
        }
        Value::Array(items) => walk(&mut items[first % len], rest),
        _ => unreachable!("only containers have members"),
    }
}

fn apply(mut data: Value, mutation: &Mutation) -> Value {
    match mutation {
        Mutation::Replace(path, value) => *walk(&mut data, path) = value.clone(),
        Mutation::Remove(path) => {
            let (last, parent) = path.split_last().map_or((0, &[][..]), |(last, parent)| (*last, parent));
            match walk(&mut data, parent) {
                Value::Object(fields) if !fields.is_empty() => {
                    let key = fields.keys().nth(last % fields.len()).cloned().unwrap_or_default();
                    fields.remove(&key);
                }
                Value::Array(items) if !items.is_empty() => {
                    let at = last % items.len();
                    items.remove(at);
                }
                _ => {}
            }
        }
        Mutation::Insert(path, key, value) => {
            if let Value::Object(fields) = walk(&mut data, path) {
                fields.insert(key.clone(), value.clone());
            }
        }
    }
    data
}

/// Reads and checks an event's `data` as the function taking `event_type` does, up to where
/// the store is needed.
fn check(event_type: &str, data: &Value) -> Result<(), Rejection> {
    use backoffice::domains::claims::validate as claims;
    use backoffice::domains::email::preferences::PreferencesData;
    use backoffice::domains::orders::schema::{OrderCreatedData, OrderRefData, OrderShippedData};
    use backoffice::domains::orders::validate as orders;
    use backoffice::domains::privacy::closure;
    use backoffice::domains::privacy::validate as privacy;
    use backoffice::domains::questions::validate as questions;
    use backoffice::domains::refunds::validate as refunds;
    use backoffice::domains::reviews::validate as reviews;
    use backoffice::domains::sellers::update::SellerUpdatedData;
    use backoffice::domains::stock::adjustment::InventoryAdjustedData;
    match event_type {
        "order.created" => orders::new_order(parse_data::<OrderCreatedData>(data)?).map(drop)?,
        "order.shipped" => orders::shipment(&parse_data::<OrderShippedData>(data)?).map(drop)?,
        "order.cancelled" | "order.delivered" => {
            backoffice::domains::orders::OrderRef::try_from(&parse_data::<OrderRefData>(data)?).map(drop)?
        }
        "inventory.adjusted" => parse_data::<InventoryAdjustedData>(data)?.validate().map(drop)?,
        "seller.updated" => parse_data::<SellerUpdatedData>(data)?.validate().map(drop)?,
        "review.created" => reviews::new_review(parse_data(data)?).map(drop)?,
        "review.updated" => reviews::updated_review(parse_data(data)?).map(drop)?,
        "review.removed" => reviews::removed_review(parse_data(data)?).map(drop)?,
        "refund.requested" => refunds::refund_request(parse_data(data)?).map(drop)?,
        "refund.decided" => refunds::refund_decision(parse_data(data)?).map(drop)?,
        "claim.opened" => claims::claim_opening(parse_data(data)?).map(drop)?,
        "claim.responded" => claims::claim_response(parse_data(data)?).map(drop)?,
        "claim.decided" => claims::claim_decision(parse_data(data)?).map(drop)?,
        "claim.withdrawn" => claims::claim_withdrawal(parse_data(data)?).map(drop)?,
        "buyer.preferences" => parse_data::<PreferencesData>(data)?.validate().map(drop)?,
        "message.received" => questions::question(parse_data(data)?).map(drop)?,
        "message.replied" => questions::reply(parse_data(data)?).map(drop)?,
        "buyer.erasure_requested" => privacy::erasure(parse_data(data)?, chrono::Utc::now()).map(drop)?,
        "buyer.export_requested" => privacy::export_request(parse_data(data)?).map(drop)?,
        "seller.closed" => closure::closure(parse_data(data)?, chrono::Utc::now()).map(drop)?,
        other => panic!("no check for {other}"),
    }
    Ok(())
}

/// Every sample event of `events/` and `events/privacy/`, as `(type, data)`, read once.
fn samples() -> &'static [(String, Value)] {
    static SAMPLES: std::sync::LazyLock<Vec<(String, Value)>> = std::sync::LazyLock::new(read_samples);
    &SAMPLES
}

fn read_samples() -> Vec<(String, Value)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../events");
    let mut found: Vec<(String, Value)> = [dir.to_owned(), format!("{dir}/privacy")]
        .iter()
        .flat_map(|dir| std::fs::read_dir(dir).expect("events/"))
        .flatten()
        .filter(|entry| entry.path().extension().is_some_and(|ext| ext == "json"))
        .map(|entry| {
            let event: Value = serde_json::from_slice(&std::fs::read(entry.path()).unwrap()).unwrap();
            (event["type"].as_str().unwrap().to_owned(), event["data"].clone())
        })
        .collect();
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found
}

fn assert_refusal(rejection: &Rejection, what: &str) {
    assert!(
        matches!(rejection.status(), 400 | 422),
        "{what}: {} {}",
        rejection.status(),
        rejection.code
    );
    assert!(!rejection.code.is_empty(), "{what}: a code");
    assert!(
        !rejection.message.is_empty(),
        "{what}: a message for {}",
        rejection.code
    );
}

proptest! {
    /// Every sample event's `data`, changed anywhere, is taken or refused with a code, a
    /// message and the field it names; never a panic.
    #[test]
    fn every_event_schema_refuses_what_it_cannot_take(
        pick in any::<usize>(),
        mutations in prop::collection::vec(mutation(), 1..4),
    ) {
        let samples = samples();
        let (event_type, data) = &samples[pick % samples.len()];
        let changed = mutations.iter().fold(data.clone(), apply);
        if let Err(rejection) = check(event_type, &changed) {
            assert_refusal(&rejection, event_type);
            if rejection.status() == 400 {
                let field = rejection.field.as_deref().unwrap_or_default();
                prop_assert!(field.starts_with("data"), "{event_type} {}: field {field:?}", rejection.code);
            }
        }
    }

    /// Any JSON at all as an event's `data`.
    #[test]
    fn any_data_at_all_is_refused_cleanly(pick in any::<usize>(), data in any_json()) {
        let samples = samples();
        let (event_type, _) = &samples[pick % samples.len()];
        if let Err(rejection) = check(event_type, &data) {
            assert_refusal(&rejection, event_type);
        }
    }

    /// Any bytes as a webhook body.
    #[test]
    fn any_body_is_an_envelope_or_a_refusal(body in prop::collection::vec(any::<u8>(), 0..600)) {
        if let Err(rejection) = Envelope::parse(&body) {
            assert_refusal(&rejection, "envelope");
        }
    }

    /// Any JSON object as an envelope; an accepted one has the same fingerprint however it is
    /// formatted or its keys ordered.
    #[test]
    fn envelopes_are_recognised_whatever_their_formatting(
        id in prop_oneof!["evt_[A-Za-z0-9_-]{1,20}", "\\PC{0,20}"],
        event_type in prop_oneof![Just("order.created".to_owned()), "[a-z.]{0,16}"],
        created_at in prop_oneof![Just("2026-11-22T10:00:00Z".to_owned()), "\\PC{0,30}"],
        data in any_json(),
    ) {
        let envelope = json!({"id": id, "type": event_type, "created_at": created_at, "data": data});
        let compact = serde_json::to_vec(&envelope).unwrap();
        let pretty = serde_json::to_vec_pretty(&envelope).unwrap();
        match (Envelope::parse(&compact), Envelope::parse(&pretty)) {
            (Ok(a), Ok(b)) => prop_assert_eq!(a.fingerprint, b.fingerprint),
            (Err(a), Err(b)) => {
                assert_refusal(&a, "envelope");
                prop_assert_eq!(a.code, b.code);
            }
            (a, b) => prop_assert!(false, "formatting changed the outcome: {:?} / {:?}", a.is_ok(), b.is_ok()),
        }
    }

    /// Any header and body: a refusal, never a panic; only the true signature passes.
    #[test]
    fn only_the_true_signature_passes(
        header in prop_oneof![
            "\\PC{0,80}",
            (any::<i64>(), "[0-9a-f]{0,70}").prop_map(|(t, v1)| format!("t={t},v1={v1}")),
            (any::<i64>(), "\\PC{0,10}", "\\PC{0,10}").prop_map(|(t, k, v)| format!("t={t},{k}={v},v1=00")),
        ],
        body in prop::collection::vec(any::<u8>(), 0..200),
        now in any::<i64>(),
    ) {
        let verifier = SignatureVerifier::new(WebhookSecret::new("whsec_props"));
        prop_assert!(verifier.verify(Some(&header), &body, now).is_err());
    }

    /// A signature made at `t` passes within 300 s of `t` and fails past it, and a body
    /// changed by one byte fails.
    #[test]
    fn a_signature_round_trips_within_its_window(
        body in prop::collection::vec(any::<u8>(), 1..200),
        t in 0i64..4_000_000_000,
        skew in -400i64..400,
        flip in any::<usize>(),
    ) {
        let verifier = SignatureVerifier::new(WebhookSecret::new("whsec_props"));
        let header = verifier.sign(&body, t);
        let outcome = verifier.verify(Some(&header), &body, t + skew);
        if skew.abs() <= 300 {
            prop_assert_eq!(outcome, Ok(()));
            let mut changed = body.clone();
            let at = flip % changed.len();
            changed[at] ^= 0x01;
            prop_assert_eq!(verifier.verify(Some(&header), &changed, t + skew), Err(SignatureError::Mismatch));
        } else {
            let stale = matches!(outcome, Err(SignatureError::Stale { .. }));
            prop_assert!(stale);
        }
    }

    /// Money prints what it parses, for every currency's minor units; anything else is refused.
    #[test]
    fn money_round_trips_and_refuses_the_rest(
        minor in 0i64..1_000_000_000_000_000,
        code in prop::sample::select(vec!["EUR", "USD", "JPY", "CNY", "KWD", "GBP", "CLF"]),
        text in prop_oneof!["\\PC{0,20}", "[0-9]{0,20}(\\.[0-9]{0,5})?", "-?[0-9.,eE+]{0,12}"],
    ) {
        let currency = Currency::parse(code).unwrap();
        let money = Money::from_minor(minor, currency);
        if let Ok(parsed) = Money::parse(&money.to_string(), currency) {
            prop_assert_eq!(parsed, money);
        } else {
            // Only an amount beyond the twelve digits of major units is refused.
            prop_assert!(minor / 10i64.pow(currency.minor_digits()) >= 1_000_000_000_000);
        }
        if let Ok(parsed) = Money::parse(&text, currency) {
            prop_assert!(parsed.minor_units() >= 0);
            prop_assert_eq!(Money::parse(&parsed.to_string(), currency), Ok(parsed));
        }
    }

    /// A language tag is kept short, ASCII and as it was, or refused.
    #[test]
    fn language_tags_are_bounded_and_stable(tag in prop_oneof!["\\PC{0,60}", "[a-zA-Z]{1,4}([-_][a-zA-Z0-9]{1,9}){0,6}"]) {
        if let Some(kept) = language_tag(&tag) {
            prop_assert!(kept.len() <= MAX_TAG_LEN && kept.is_ascii());
            prop_assert_eq!(language_tag(&kept), Some(kept.clone()));
        }
    }

    /// Whatever a name or subject holds (line breaks included), the message's headers are
    /// ASCII lines of at most 78 characters that cannot start a header of their own, and
    /// the name and subject read back as they were (on one line).
    #[test]
    fn mime_headers_cannot_be_injected_and_read_back(
        name in "\\PC{0,120}|[\\r\\n:a-z ]{0,40}",
        subject in "\\PC{0,200}|Bcc: x@example.com\\r\\n.{0,20}",
        text in "\\PC{0,200}",
    ) {
        let from = EmailAddress::parse("shop@example.com").unwrap();
        let to = EmailAddress::parse("buyer@example.com").unwrap();
        let envelope = MailEnvelope { from: &from, to_name: &name, to: &to, language: "en" };
        let rendered = Rendered { subject: subject.clone(), html: format!("<p>{text}</p>"), text: text.clone() };
        let raw = String::from_utf8(message(&envelope, &rendered)).unwrap();
        let (headers, _) = raw.split_once("\r\n\r\n").unwrap();
        let mut names = Vec::new();
        for line in headers.split("\r\n") {
            prop_assert!(line.is_ascii() && line.len() <= 78, "{line:?}");
            if !line.starts_with(' ') {
                names.push(line.split_once(':').map(|(name, _)| name.to_owned()).unwrap_or_default());
            }
        }
        prop_assert_eq!(names, ["From", "To", "Subject", "MIME-Version", "Content-Language", "Content-Type"]);
        let unfolded = headers.replace("\r\n ", " ");
        let value_of = |header: &str| {
            unfolded.lines().find_map(|line| line.strip_prefix(&format!("{header}: "))).unwrap_or_default().to_owned()
        };
        prop_assert_eq!(decode_words(&value_of("Subject")), one_line(&subject));
        let to_line = value_of("To");
        let (words, _) = to_line.rsplit_once(" <").unwrap();
        prop_assert_eq!(decode_words(words), one_line(&name));
    }

    /// The classifiers take any words at all, and give the same answer every time.
    #[test]
    fn the_classifiers_take_any_words(rating in 0u8..8, title in buyer_text(40), text in buyer_text(240)) {
        let review = backoffice::domains::reviews::classify::classify(rating, &title, &text);
        prop_assert_eq!(review.clone(), backoffice::domains::reviews::classify::classify(rating, &title, &text));
        if !review.negative {
            prop_assert!(review.reasons.is_empty());
        }
        let intent = backoffice::domains::questions::intent::classify(&title, &text);
        prop_assert_eq!(intent, backoffice::domains::questions::intent::classify(&title, &text));
    }
}

/// Words the classifiers look for, in English and Chinese, and what turns them around.
const BUYER_WORDS: &[&str] = &[
    " ",
    "not",
    "n't",
    "never",
    "no",
    "very",
    "but",
    "broken",
    "damaged",
    "arrived",
    "late",
    "refund",
    "where is my order",
    "tracking",
    "size",
    "too small",
    "fake",
    "smells",
    "坏了",
    "没收到",
    "退款",
    "物流",
    "尺码",
    "不",
    "没有",
    "假货",
    "!",
    "?",
    "。",
    "！",
];

/// Buyers' text for the classifiers, up to `pieces` pieces: any characters (controls and
/// unassigned ones too), and among them words the classifiers look for, so that a case reaches
/// their phrase matching and negation, not only their fallbacks. Cheaper to make than a
/// `\PC` regex, which is what let a million cases run at all.
fn buyer_text(pieces: usize) -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        3 => any::<char>().prop_map(String::from),
        2 => prop::sample::select(BUYER_WORDS).prop_map(str::to_owned),
    ];
    prop::collection::vec(piece, 0..pieces).prop_map(|pieces| pieces.concat())
}

/// The text of RFC 2047 `=?UTF-8?B?…?=` words separated by spaces (`""` for none).
fn decode_words(value: &str) -> String {
    if value == "\"\"" {
        return String::new();
    }
    let bytes: Vec<u8> = value
        .split(' ')
        .filter(|word| !word.is_empty())
        .flat_map(|word| {
            let inner = word
                .strip_prefix("=?UTF-8?B?")
                .and_then(|w| w.strip_suffix("?="))
                .expect("an encoded word");
            STANDARD.decode(inner).expect("base64")
        })
        .collect();
    String::from_utf8(bytes).expect("words split on character boundaries")
}
