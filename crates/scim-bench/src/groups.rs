//! Groups through the real HTTP service (in process, `actix_web::test`): a membership change
//! must cost the same in a group of 100 as in one of 100,000, a group read without its members
//! must not read them, and a full read of a large group must stay bounded in memory.
//!
//! The users and memberships are bulk-loaded with SQL (the API would take minutes per backend);
//! every measured request goes through the service.

use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::{test, App};
use scim_server::scope;
use scim_store::resources::{self, Columns, NewResource, GROUPS};
use scim_store::{Dialect, OrgId, Store};

use crate::{report, ROUNDS};

/// Members of the large group.
const LARGE: usize = 100_000;
/// Members of the small group.
const SMALL: usize = 100;
/// Groups the one busy user belongs to.
const GROUPS_OF_ONE_USER: usize = 1_000;

pub(crate) fn run(name: &str, store: &Store) {
    println!("\n# groups on {name} (HTTP through the service, in process)");
    let result = actix_web::rt::System::new().block_on(bench(store));
    if let Err(error) = result {
        println!("groups bench failed: {error}");
    }
}

/// `count` rows `1..=count` of a recursive sequence, as a `FROM` source named `g(n)`.
pub(crate) fn sequence(dialect: Dialect, count: usize) -> String {
    match dialect {
        Dialect::Postgres => format!("generate_series(1, {count}) AS g(n)"),
        Dialect::Sqlite => format!(
            "(WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {count}) \
             SELECT n FROM s) AS g"
        ),
    }
}

pub(crate) fn execute(store: &Store, sql: &str) -> Result<(), String> {
    let mut conn = store.get().map_err(|e| e.to_string())?;
    conn.batch_execute(sql)
        .map_err(|e| format!("{e}: {sql:.120}"))
}

fn new_group(id: &str, name: &str) -> NewResource {
    Columns {
        name: name.to_owned(),
        name_key: name.to_lowercase(),
        external_id: None,
        active: true,
        document: format!(
            r#"{{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"{name}"}}"#
        ),
        search: format!(r#"{{"displayName":"{}"}}"#, name.to_lowercase()),
    }
    .into_new(id.to_owned(), None, vec![])
}

/// Users `gu1..=gu{count}`, group `id` with members `gu1..=gu{members}`.
fn load(store: &Store, org: OrgId) -> Result<(), String> {
    let dialect = store.dialect();
    let org = org.0;
    let users = LARGE + 1;
    let text = |expr: &str| match dialect {
        Dialect::Postgres => format!("({expr})::text"),
        Dialect::Sqlite => format!("CAST({expr} AS TEXT)"),
    };
    let n = text("n");
    execute(
        store,
        &format!(
            "INSERT INTO users (org_id, id, user_name, user_name_key, external_id, active, \
             version, session_version, created_at, last_modified, document, search) \
             SELECT {org}, 'gu' || {n}, 'user' || {n}, 'user' || {n}, NULL, TRUE, 1, 1, n, n, \
             '{{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"userName\":\"user' \
             || {n} || '\"}}', '{{\"userName\":\"user' || {n} || '\"}}' FROM {}",
            sequence(dialect, users)
        ),
    )?;
    let mut conn = store.get().map_err(|e| e.to_string())?;
    for (id, name) in [("g-small", "Small"), ("g-large", "Large")] {
        resources::create(&mut conn, &GROUPS, OrgId(org), &new_group(id, name))
            .map_err(|e| e.to_string())?;
    }
    drop(conn);
    for (group, members) in [("g-small", SMALL), ("g-large", LARGE)] {
        execute(
            store,
            &format!(
                "INSERT INTO group_members (org_id, group_id, member_id, member_type) \
                 SELECT {org}, '{group}', 'gu' || {n}, 'User' FROM {}",
                sequence(dialect, members)
            ),
        )?;
    }
    // The busy user gu1 is a direct member of 1,000 more groups.
    execute(
        store,
        &format!(
            "INSERT INTO groups (org_id, id, display_name, display_name_key, version, \
             created_at, last_modified, document, search) \
             SELECT {org}, 'm' || {n}, 'Team ' || {n}, 'team ' || {n}, 1, n, n, \
             '{{\"displayName\":\"Team ' || {n} || '\"}}', '{{\"displayName\":\"team ' || {n} || '\"}}' \
             FROM {}",
            sequence(dialect, GROUPS_OF_ONE_USER)
        ),
    )?;
    execute(
        store,
        &format!(
            "INSERT INTO group_members (org_id, group_id, member_id, member_type) \
             SELECT {org}, 'm' || {n}, 'gu1', 'User' FROM {}",
            sequence(dialect, GROUPS_OF_ONE_USER)
        ),
    )?;
    execute(store, "ANALYZE")
}

/// Resident set size figures of this process from `/proc/self/status`, in KiB: (now, peak).
fn rss_kib() -> Option<(u64, u64)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// Resets the peak RSS (`VmHWM`) to the current RSS (Linux `clear_refs` value 5).
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

async fn send<S, B>(app: &S, req: test::TestRequest) -> (u16, usize)
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let response = test::call_service(app, req.to_request()).await;
    let status = response.status().as_u16();
    let body = test::read_body(response).await;
    (status, body.len())
}

/// The median per-request time of `iterations` requests made by `request(i)`, over rounds.
async fn timed<S, B>(
    app: &S,
    iterations: usize,
    request: impl Fn(usize) -> test::TestRequest,
) -> Result<Duration, String>
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let mut rounds = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        let start = Instant::now();
        for i in 0..iterations {
            let (status, _) = send(app, request(i)).await;
            if !(200..300).contains(&status) {
                return Err(format!("request {i} answered {status}"));
            }
        }
        rounds.push(start.elapsed() / u32::try_from(iterations).unwrap_or(u32::MAX));
    }
    rounds.sort_unstable();
    Ok(rounds[ROUNDS / 2])
}

async fn bench(store: &Store) -> Result<(), String> {
    let (state, org, bearer) = crate::service(store, "groups")?;
    let start = Instant::now();
    load(store, org)?;
    println!(
        "loaded {} users, groups of {SMALL} and {LARGE}, one user in {GROUPS_OF_ONE_USER} groups in {:.1} s",
        LARGE + 1,
        start.elapsed().as_secs_f64()
    );
    let app = test::init_service(App::new().service(scope("/scim/v2", state))).await;
    let extra = format!("gu{}", LARGE + 1);
    let patch = |group: &str, i: usize| {
        // Even iterations add the one user outside both groups, odd ones remove it again.
        let body = if i.is_multiple_of(2) {
            format!(
                r#"{{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{{"op":"add","path":"members","value":[{{"value":"{extra}"}}]}}]}}"#
            )
        } else {
            format!(
                r#"{{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{{"op":"remove","path":"members[value eq \"{extra}\"]"}}]}}"#
            )
        };
        test::TestRequest::patch()
            .uri(&format!("/scim/v2/Groups/{group}"))
            .insert_header(("Authorization", bearer.clone()))
            .insert_header(("Content-Type", "application/scim+json"))
            .set_payload(body)
    };
    let small = timed(&app, 200, |i| patch("g-small", i)).await?;
    report(
        &format!("PATCH add/remove one member, group of {SMALL}"),
        small,
    );
    let large = timed(&app, 200, |i| patch("g-large", i)).await?;
    report(
        &format!("PATCH add/remove one member, group of {LARGE}"),
        large,
    );
    println!(
        "  ratio large/small: {:.2} (target ≤ 1.5)",
        large.as_secs_f64() / small.as_secs_f64()
    );

    let get = |path: String| {
        test::TestRequest::get()
            .uri(&path)
            .insert_header(("Authorization", bearer.clone()))
    };
    for (group, size) in [("g-small", SMALL), ("g-large", LARGE)] {
        let per_op = timed(&app, 200, |_| {
            get(format!(
                "/scim/v2/Groups/{group}?excludedAttributes=members"
            ))
        })
        .await?;
        report(
            &format!("GET group of {size} with excludedAttributes=members"),
            per_op,
        );
    }

    let before = rss_kib();
    let reset = reset_peak_rss();
    let start = Instant::now();
    let (status, bytes) = send(&app, get("/scim/v2/Groups/g-large".into())).await;
    let elapsed = start.elapsed();
    let after = rss_kib();
    println!(
        "GET full group of {LARGE}: {status}, {:.1} ms, {:.1} MiB of JSON",
        elapsed.as_secs_f64() * 1e3,
        bytes as f64 / (1024.0 * 1024.0)
    );
    match (before, after, reset) {
        (Some((rss, _)), Some((_, peak)), true) => println!(
            "  peak RSS of the process during it: {:.1} MiB ({:.1} MiB above the {:.1} MiB before; \
             client and server share the process)",
            peak as f64 / 1024.0,
            peak.saturating_sub(rss) as f64 / 1024.0,
            rss as f64 / 1024.0
        ),
        _ => println!("  peak RSS: not available on this system"),
    }

    let per_op = timed(&app, 50, |_| get("/scim/v2/Users/gu1".into())).await?;
    let (_, bytes) = send(&app, get("/scim/v2/Users/gu1".into())).await;
    report(
        &format!(
            "GET a user in {} groups ({bytes} bytes)",
            GROUPS_OF_ONE_USER + 2
        ),
        per_op,
    );
    let per_op = timed(&app, 200, |_| {
        get("/scim/v2/Users/gu1?excludedAttributes=groups".into())
    })
    .await?;
    report("GET the same user with excludedAttributes=groups", per_op);
    Ok(())
}
