//! The Lambda function (see `trail_insights::app::lambda`): clients are created once at cold start.

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    trail_insights::app::lambda::init_logging();
    let app = match trail_insights::app::lambda::App::from_env().await {
        Ok(app) => Arc::new(app),
        Err(e) => {
            tracing::error!(error = %e, "invalid configuration");
            return Err(e.into());
        }
    };
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let app = app.clone();
        async move { trail_insights::app::lambda::handle(app, event.payload).await }
    }))
    .await
}
