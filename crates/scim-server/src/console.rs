//! The web console at `/admin/`: three static files embedded in the binary (no network at run
//! time), a page over the admin API. It holds no state and no secret: the admin token lives in
//! the browser tab's `sessionStorage` and goes in the `Authorization` header of each API call,
//! so there is no cookie a cross-site request could ride (no CSRF), and the strict
//! Content-Security-Policy below allows only these files.

use actix_web::dev::HttpServiceFactory;
use actix_web::http::header;
use actix_web::{web, HttpResponse};

const INDEX: &str = include_str!("../console/index.html");
const SCRIPT: &str = include_str!("../console/app.js");
const STYLE: &str = include_str!("../console/app.css");

/// The Content-Security-Policy of every console response: its own script and style only, API
/// calls to its own origin only, never framed.
pub const CONSOLE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    connect-src 'self'; img-src 'self'; form-action 'none'; base-uri 'none'; \
    frame-ancestors 'none'";

fn asset(content_type: &'static str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type))
        .insert_header((header::CONTENT_SECURITY_POLICY, CONSOLE_CSP))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body)
}

/// The console's routes: `/admin` (redirected), `/admin/`, `/admin/app.js`, `/admin/app.css`.
/// Mount it beside [`crate::admin_scope`] at `/admin/v1`, which it calls.
pub fn console() -> impl HttpServiceFactory {
    (
        web::resource("/admin").route(web::get().to(|| async {
            HttpResponse::MovedPermanently()
                .insert_header((header::LOCATION, "/admin/"))
                .finish()
        })),
        web::resource("/admin/")
            .route(web::get().to(|| async { asset("text/html; charset=utf-8", INDEX) })),
        web::resource("/admin/app.js")
            .route(web::get().to(|| async { asset("text/javascript; charset=utf-8", SCRIPT) })),
        web::resource("/admin/app.css")
            .route(web::get().to(|| async { asset("text/css; charset=utf-8", STYLE) })),
    )
}
