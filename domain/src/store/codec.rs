//! How the domain's types meet the columns: ids and hashes are text, the provider is its name,
//! a flag is an integer (0 or 1) on both engines. Decoded here, at the row boundary, so nothing
//! above the store handles a raw `String` id or an `i64` that means a boolean.

use sqlx::error::BoxDynError;
use sqlx::{Database, Decode, Type};

use super::engine::Arg;
use crate::ids::{ConnectionId, Provider, SessionId, TokenHash, UserId};

/// A type stored in a text column: the column's type is `String`'s.
macro_rules! text_type {
    ($($name:ty),*) => {$(
        impl<DB: Database> Type<DB> for $name
        where
            String: Type<DB>,
        {
            fn type_info() -> DB::TypeInfo {
                <String as Type<DB>>::type_info()
            }

            fn compatible(ty: &DB::TypeInfo) -> bool {
                <String as Type<DB>>::compatible(ty)
            }
        }
    )*};
}

/// A text column read as one of the id types, and the id bound as text.
macro_rules! text_column {
    ($($name:ty => $make:expr),* $(,)?) => {$(
        text_type!($name);

        impl<'r, DB: Database> Decode<'r, DB> for $name
        where
            String: Decode<'r, DB>,
        {
            fn decode(value: <DB as Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
                let text = <String as Decode<'r, DB>>::decode(value)?;
                Ok($make(text))
            }
        }

        impl From<&$name> for Arg {
            fn from(value: &$name) -> Self {
                Arg::Text(value.as_str().to_string())
            }
        }

        impl From<Option<&$name>> for Arg {
            fn from(value: Option<&$name>) -> Self {
                value.map_or(Arg::NullText, Arg::from)
            }
        }

        impl From<&Option<$name>> for Arg {
            fn from(value: &Option<$name>) -> Self {
                Arg::from(value.as_ref())
            }
        }
    )*};
}

text_column!(
    UserId => UserId::from,
    SessionId => SessionId::from,
    ConnectionId => ConnectionId::from,
    TokenHash => TokenHash::from_stored,
);

text_type!(Provider);

impl<'r, DB: Database> Decode<'r, DB> for Provider
where
    String: Decode<'r, DB>,
{
    fn decode(value: <DB as Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
        let text = <String as Decode<'r, DB>>::decode(value)?;
        Ok(provider(&text)?)
    }
}

impl From<Provider> for Arg {
    fn from(value: Provider) -> Self {
        Arg::Text(value.as_str().to_string())
    }
}

/// A provider column's text: only the names Latchkey writes.
pub(super) fn provider(text: &str) -> Result<Provider, super::StoreError> {
    Provider::parse(text).ok_or_else(|| super::StoreError::Database(format!("unknown provider `{text}`")))
}

/// A flag column (`INTEGER`/`BIGINT`, 0 or 1): what `#[sqlx(try_from = "IntFlag")]` reads a
/// `bool` field through, since neither engine's driver decodes an integer as a `bool` here.
#[derive(sqlx::Type)]
#[sqlx(transparent)]
pub(crate) struct IntFlag(i64);

impl From<IntFlag> for bool {
    fn from(flag: IntFlag) -> Self {
        flag.0 != 0
    }
}
