//! Notion's OAuth, as Notion really speaks it: the wire types, the HTTP client, the per-grant
//! refresh locks, and the sandbox that plays Notion in development.

pub mod client;
mod refresh;
pub mod sandbox;
pub mod wire;

pub use client::{ClientCredentials, NotionClient, NotionError};
pub use refresh::RefreshLocks;
pub use wire::{Identity, TokenResponse};

/// The `Notion-Version` header Latchkey sends.
pub const NOTION_VERSION: &str = "2022-06-28";
