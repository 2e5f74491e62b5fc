//! What the outbox carries: a follow-up as JSON with its kind and dedupe key beside it. The
//! outbox and the relay never read further, so they depend on no domain: each domain defines
//! its own follow-ups (a stock change, an email, a payout) beside the use cases that ask for
//! them, and the function that acts on one parses it from its queue.

use std::fmt;

use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use serde_json::value::RawValue;

/// A follow-up a domain asks of another function, as it travels.
pub trait Relayed: Serialize {
    /// The message attribute the topic's subscriptions filter on, and the `kind` in its JSON.
    const KIND: &'static str;

    /// One effect per key, however often the follow-up is delivered.
    fn dedupe_key(&self) -> &str;

    /// The buyer whose personal data it carries, if any: its outbox entry is indexed by them,
    /// so their erasure finds it.
    fn data_subject(&self) -> Option<&str> {
        None
    }
}

/// A follow-up as the outbox stores it and the topic publishes it: `{"kind": …, …}`. Its JSON
/// is held as text, read once from the outbox item, so the relay sizes and publishes it
/// without writing it out again.
#[derive(Clone)]
pub struct Message {
    kind: String,
    dedupe_key: String,
    /// Known where it is made ([`Relayed::data_subject`]); not carried in its JSON.
    data_subject: Option<String>,
    json: Box<RawValue>,
}

/// What the relay reads of a follow-up; the rest is the consumer's.
#[derive(Deserialize)]
struct Head {
    kind: String,
    dedupe_key: String,
}

impl Message {
    /// A domain's follow-up, ready for the outbox.
    pub fn of<F: Relayed>(follow_up: &F) -> Self {
        let value = serde_json::to_value(follow_up).expect("follow-ups are plain data");
        let Value::Object(mut json) = value else {
            panic!("a follow-up serialises as a JSON object: {}", F::KIND);
        };
        json.insert(KIND.to_owned(), F::KIND.into());
        Self {
            kind: F::KIND.to_owned(),
            dedupe_key: follow_up.dedupe_key().to_owned(),
            data_subject: follow_up.data_subject().map(str::to_owned),
            json: serde_json::value::to_raw_value(&json).expect("JSON values serialise"),
        }
    }

    /// A follow-up read back from its JSON: any object with a kind and a dedupe key.
    fn from_raw(json: Box<RawValue>) -> Result<Self, serde_json::Error> {
        let head: Head = serde_json::from_str(json.get())?;
        Ok(Self {
            kind: head.kind,
            dedupe_key: head.dedupe_key,
            data_subject: None,
            json,
        })
    }

    pub fn kind(&self) -> &str {
        &self.kind
    }

    pub fn dedupe_key(&self) -> &str {
        &self.dedupe_key
    }

    pub fn data_subject(&self) -> Option<&str> {
        self.data_subject.as_deref()
    }

    /// The same follow-up, known to carry `buyer_id`'s data (a seller's notice quoting them).
    pub fn about(mut self, buyer_id: &str) -> Self {
        self.data_subject = Some(buyer_id.to_owned());
        self
    }

    /// The message as published: the follow-up's JSON, its kind in it.
    pub fn text(&self) -> &str {
        self.json.get()
    }

    /// The follow-up as the type that acts on it, for the function whose queue carries it.
    pub fn read<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(self.json.get())
    }
}

const KIND: &str = "kind";

/// The same JSON text: a follow-up's keys are written in one order (serde_json's maps are
/// sorted), so the same follow-up always reads the same.
impl PartialEq for Message {
    fn eq(&self, other: &Self) -> bool {
        self.text() == other.text()
    }
}

/// Its kind and key only: the JSON holds buyers' names, addresses and messages.
impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Message")
            .field("kind", &self.kind)
            .field("dedupe_key", &self.dedupe_key)
            .finish_non_exhaustive()
    }
}

impl Serialize for Message {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.json.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Message {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Message::from_raw(Box::<RawValue>::deserialize(deserializer)?).map_err(D::Error::custom)
    }
}
