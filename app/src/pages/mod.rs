//! The portal's pages, one module each.

mod auth;
mod not_found;
mod user;

pub use auth::{SignInPage, SignUpPage};
pub use not_found::{Home, NotFound};
pub use user::UserPage;
