//! What the outbox carries: a follow-up as JSON with its kind and dedupe key beside it. The
//! outbox and the relay never read further, so they depend on no domain: each domain defines
//! its own follow-ups (a stock change, an email, a payout) beside the use cases that ask for
//! them, and the function that acts on one parses it from its queue.

use std::fmt;

use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// A follow-up a domain asks of another function, as it travels.
pub trait Relayed: Serialize {
    /// The message attribute the topic's subscriptions filter on, and the `kind` in its JSON.
    const KIND: &'static str;

    /// One effect per key, however often the follow-up is delivered.
    fn dedupe_key(&self) -> &str;
}

/// A follow-up as the outbox stores it and the topic publishes it: `{"kind": …, …}`.
#[derive(Clone, PartialEq)]
pub struct Message {
    kind: String,
    dedupe_key: String,
    json: Map<String, Value>,
}

/// Why a stored or delivered follow-up is not a [`Message`].
#[derive(Debug, thiserror::Error)]
pub enum MessageError {
    #[error("a follow-up is a JSON object")]
    NotAnObject,
    #[error("a follow-up names its {0} as a string")]
    Missing(&'static str),
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
            json,
        }
    }

    /// A follow-up read back from JSON: any object with a kind and a dedupe key.
    pub fn from_json(value: Value) -> Result<Self, MessageError> {
        let Value::Object(json) = value else {
            return Err(MessageError::NotAnObject);
        };
        let text = |field: &'static str| match json.get(field) {
            Some(Value::String(text)) => Ok(text.clone()),
            _ => Err(MessageError::Missing(field)),
        };
        Ok(Self {
            kind: text(KIND)?,
            dedupe_key: text(DEDUPE_KEY)?,
            json,
        })
    }

    pub fn kind(&self) -> &str {
        &self.kind
    }

    pub fn dedupe_key(&self) -> &str {
        &self.dedupe_key
    }

    /// The message as published: the follow-up's JSON, its kind in it.
    pub fn text(&self) -> String {
        serde_json::to_string(&self.json).expect("JSON values serialise")
    }

    /// The follow-up as the type that acts on it, for the function whose queue carries it.
    pub fn read<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        T::deserialize(Value::Object(self.json.clone()))
    }
}

const KIND: &str = "kind";
const DEDUPE_KEY: &str = "dedupe_key";

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
        Message::from_json(Value::deserialize(deserializer)?).map_err(D::Error::custom)
    }
}
