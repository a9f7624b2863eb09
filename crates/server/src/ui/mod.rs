//! The web UI: the admin area under `/admin` and the partner portal under `/portal`.

use axum::Router;
use tributary_app::App;

pub fn router() -> Router<App> {
    Router::new()
}
