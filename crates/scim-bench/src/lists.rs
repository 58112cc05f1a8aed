//! Lists through the real HTTP service (in process): the first page with `totalResults`, a
//! cursor page deep in the walk (RFC 9865) and an index page (`startIndex`) in the middle, at
//! several sizes; and, at the store, what `totalResults` costs beside the keyset page itself.
//!
//! Users are bulk-loaded with SQL, one organisation per size; every measured request goes
//! through the service.

use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::{test, App};
use scim_server::{scope, ServerConfig};
use scim_store::paging::{self, Position};
use scim_store::resources::{self, ListQuery, USERS};
use scim_store::{Dialect, OrgId, Store};
use scim_test_db::fixtures::load_users;
use serde_json::Value;

use crate::groups::execute;
use crate::{measure, report};

/// The walk to the deep page goes this many users per request.
const STRIDE: usize = 50_000;

pub(crate) fn run(name: &str, store: &Store) {
    let sizes: &[usize] = match store.dialect() {
        Dialect::Postgres => &[10_000, 100_000, 1_000_000],
        Dialect::Sqlite => &[10_000, 100_000],
    };
    println!("\n# lists on {name} (HTTP through the service, in process)");
    for &size in sizes {
        let result = actix_web::rt::System::new().block_on(bench(store, size));
        if let Err(error) = result {
            println!("lists bench failed at {size}: {error}");
        }
    }
}

/// `size` users, created in order, in `org`, the way the server writes them (with their index
/// entries), then analyzed as a long-running database would be.
fn load(store: &Store, org: OrgId, size: usize) -> Result<(), String> {
    let last = u64::try_from(size).map_err(|e| e.to_string())?;
    load_users(store, org, 1, last)?;
    execute(store, "ANALYZE")
}

async fn send<S, B>(app: &S, uri: &str, bearer: &str) -> Result<Value, String>
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let req = test::TestRequest::get()
        .uri(uri)
        .insert_header(("Authorization", bearer.to_owned()));
    let response = test::call_service(app, req.to_request()).await;
    let status = response.status().as_u16();
    let body = test::read_body(response).await;
    if status != 200 {
        return Err(format!("{uri:.80} answered {status}"));
    }
    serde_json::from_slice(&body).map_err(|e| e.to_string())
}

/// The median time of `iterations` GETs of `uri`, over rounds.
async fn timed<S, B>(
    app: &S,
    uri: &str,
    bearer: &str,
    iterations: usize,
) -> Result<Duration, String>
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let mut rounds = Vec::new();
    for _ in 0..3 {
        let start = Instant::now();
        for _ in 0..iterations {
            send(app, uri, bearer).await?;
        }
        rounds.push(start.elapsed() / u32::try_from(iterations).unwrap_or(1));
    }
    rounds.sort_unstable();
    Ok(rounds[1])
}

async fn bench(store: &Store, size: usize) -> Result<(), String> {
    // Large pages only for the walk to the deep page, which asks for them with `attributes=id`.
    let config = ServerConfig {
        max_page_size: u32::try_from(STRIDE).unwrap_or(u32::MAX),
        ..ServerConfig::default()
    };
    let (state, org, bearer) = crate::service_with(store, &format!("lists-{size}"), config)?;
    let start = Instant::now();
    load(store, org, size)?;
    println!(
        "## {size} users (loaded in {:.1} s)",
        start.elapsed().as_secs_f64()
    );
    let app = test::init_service(App::new().service(scope("/scim/v2", state))).await;
    let iterations = if size >= 1_000_000 { 3 } else { 10 };

    let first = timed(&app, "/scim/v2/Users?count=100", &bearer, iterations).await?;
    report(
        "GET /Users?count=100 (index, first page, totalResults)",
        first,
    );
    let first_cursor = timed(
        &app,
        "/scim/v2/Users?count=100&cursor=",
        &bearer,
        iterations,
    )
    .await?;
    report(
        "GET /Users?count=100&cursor= (first cursor page)",
        first_cursor,
    );

    // Walk to 90% of the users in large steps, then time the next 100-user page.
    let deep = size * 9 / 10;
    let walk_start = Instant::now();
    let mut cursor = String::new();
    let mut walked = 0;
    while walked < deep {
        let step = STRIDE.min(deep - walked);
        let page = send(
            &app,
            &format!("/scim/v2/Users?count={step}&attributes=id&cursor={cursor}"),
            &bearer,
        )
        .await?;
        walked += page["itemsPerPage"].as_u64().unwrap_or(0) as usize;
        cursor = page["nextCursor"]
            .as_str()
            .ok_or("the walk ended early")?
            .to_owned();
    }
    println!(
        "  (walked to user {walked} by cursor in {:.1} s, {STRIDE} ids a page)",
        walk_start.elapsed().as_secs_f64()
    );
    let deep_page = timed(
        &app,
        &format!("/scim/v2/Users?count=100&cursor={cursor}"),
        &bearer,
        iterations,
    )
    .await?;
    report(
        &format!("GET cursor page of 100 after user {deep} (with totalResults)"),
        deep_page,
    );
    let middle = timed(
        &app,
        &format!("/scim/v2/Users?count=100&startIndex={}", size / 2 + 1),
        &bearer,
        iterations,
    )
    .await?;
    report(
        &format!("GET startIndex={} count=100 (index, middle)", size / 2 + 1),
        middle,
    );
    let late = timed(
        &app,
        &format!("/scim/v2/Users?count=100&startIndex={}", deep + 1),
        &bearer,
        iterations,
    )
    .await?;
    report(
        &format!("GET startIndex={} count=100 (index, same depth)", deep + 1),
        late,
    );

    // The parts, at the store: the count behind totalResults and the keyset page alone.
    let mut conn = store.get().map_err(|e| e.to_string())?;
    let all = ListQuery::page(&USERS, org, 0, 100);
    let count = measure(iterations, |_| {
        std::hint::black_box(resources::count(&mut conn, &all).ok());
    });
    report("  store: COUNT for totalResults", count);
    let position = position_at(&mut conn, org, deep)?;
    let after = all
        .clone()
        .after(position.clone())
        .map_err(|e| e.to_string())?;
    let keyset = measure(iterations * 10, |_| {
        std::hint::black_box(paging::list_after(&mut conn, &after).ok());
    });
    report(
        &format!("  store: keyset page of 100 after user {deep}, no count"),
        keyset,
    );
    let offset = ListQuery::page(&USERS, org, i64::try_from(deep).unwrap_or(0), 100);
    let by_offset = measure(iterations, |_| {
        std::hint::black_box(
            resources::list(
                &mut conn,
                &offset
                    .clone()
                    .with_window(i64::try_from(deep).unwrap_or(0), 100),
            )
            .ok(),
        );
    });
    report(
        &format!("  store: OFFSET {deep} page of 100, with count"),
        by_offset,
    );
    drop(conn);
    explain(store, org, &position)
}

/// The keyset position of the `at`-th user in the default order, walked at the store.
fn position_at(
    conn: &mut scim_store::DbConnection,
    org: OrgId,
    at: usize,
) -> Result<Position, String> {
    let mut position: Option<Position> = None;
    let mut walked = 0;
    while walked < at {
        let step = i64::try_from(STRIDE.min(at - walked)).unwrap_or(1);
        let query = ListQuery::page(&USERS, org, 0, step);
        let query = match position.take() {
            Some(p) => query.after(p).map_err(|e| e.to_string())?,
            None => query,
        };
        let page = paging::list_after(conn, &query).map_err(|e| e.to_string())?;
        walked += page.items.len();
        position = Some(page.items.last().ok_or("walk ended")?.1.clone());
    }
    position.ok_or_else(|| "no position".to_owned())
}

/// The plan of the deep keyset page in the default order, as the store writes its condition:
/// the `(org_id, created_at, id)` index must serve it without reading earlier rows.
fn explain(store: &Store, org: OrgId, position: &Position) -> Result<(), String> {
    let json = position.to_json();
    let created = json[0].as_i64().unwrap_or(0);
    let id = json[1].as_str().unwrap_or("");
    let query = format!(
        "SELECT id FROM users WHERE org_id = {} AND deleted_at IS NULL \
         AND (created_at, id) > ({created}, '{id}') ORDER BY created_at, id LIMIT 101",
        org.0
    );
    let mut conn = store.get().map_err(|e| e.to_string())?;
    let lines = conn.query_plan(&query).map_err(|e| e.to_string())?;
    println!("  plan of the deep keyset page (default order):");
    for line in lines {
        println!("    {line}");
    }
    Ok(())
}
