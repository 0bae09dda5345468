//! The admin dashboard (`/dashboard…`): sign-in, SSO connections, Account Portal, users,
//! webhooks, OAuth applications, API keys, the audit log. A hydrated Leptos SPA whose every call
//! is a server function that checks the admin's session (and, for changes, that the request
//! comes from this very page's origin).

pub mod api;
mod pages;
pub mod sections;

/// The frame around every section (sidebar, status, the admin's sign-in).
pub use pages::Dashboard;
