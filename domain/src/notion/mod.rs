//! Notion's OAuth, as Notion really speaks it: the wire types and the HTTP client.

pub mod client;
pub mod wire;

pub use client::{ClientCredentials, NotionClient, NotionError};
pub use wire::{Identity, TokenResponse};

/// The `Notion-Version` header Latchkey sends.
pub const NOTION_VERSION: &str = "2022-06-28";
