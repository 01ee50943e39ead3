//! The approvals queue and the review page, and the server functions behind them.

pub mod queue;
pub mod review;

use crate::domain::change::{ChangeQuery, ChangeRequest, ChangeReview, ChangeState};
use crate::domain::page::Page;
use crate::error::AppError;
use leptos::prelude::*;

pub fn state_tone(state: ChangeState) -> &'static str {
    match state {
        ChangeState::Pending => "warning",
        ChangeState::Approved | ChangeState::Applied => "active",
        ChangeState::Rejected => "danger",
        ChangeState::Cancelled | ChangeState::Expired => "retired",
    }
}

#[server(prefix = "/rpc", endpoint = "changes/list", input = leptos::server_fn::codec::Json)]
pub async fn load_changes(query: ChangeQuery) -> Result<Page<ChangeRequest>, AppError> {
    crate::ui::session::run(|store, actor| async move { crate::service::changes::list(&store, &actor, &query).await }).await
}

#[server(prefix = "/rpc", endpoint = "changes/review")]
pub async fn load_review(id: String) -> Result<ChangeReview, AppError> {
    crate::ui::session::run(|store, actor| async move { crate::service::changes::review(&store, &actor, &id).await }).await
}

#[server(prefix = "/rpc", endpoint = "changes/decide")]
pub async fn decide(_csrf: String, id: String, verdict: String, comment: String) -> Result<ChangeRequest, AppError> {
    crate::ui::session::run(|store, actor| async move { crate::service::changes::decide(&store, &actor, &id, &verdict, &comment).await }).await
}

#[server(prefix = "/rpc", endpoint = "changes/cancel")]
pub async fn cancel(_csrf: String, id: String) -> Result<ChangeRequest, AppError> {
    crate::ui::session::run(|store, actor| async move { crate::service::changes::cancel(&store, &actor, &id).await }).await
}
