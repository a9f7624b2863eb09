//! Two `tributary serve` processes on one PostgreSQL database, racing 32 payout-batch
//! requests (16 per node) against a refund. The database itself is the judge: every
//! commission approved before the race is in exactly one batch, each batch adds up to its
//! commissions and its items, and the ledger sums to zero and agrees with the states.

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;
use tributary_store::testing::{Backend, TestDatabase};

const BIN: &str = env!("CARGO_BIN_EXE_tributary");
const BROWSER_UA: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36";

const PARTNERS: usize = 4;
const CUSTOMERS_PER_PARTNER: usize = 3;
const SALES_PER_CUSTOMER: usize = 2;
/// One lead and the sales per customer, each earning one commission.
const COMMISSIONS: usize = PARTNERS * CUSTOMERS_PER_PARTNER * (1 + SALES_PER_CUSTOMER);
const LEAD_FLAT_MINOR: i64 = 500;
const SALE_PERCENT_BP: i64 = 1_000;
const BATCH_REQUESTS_PER_NODE: usize = 16;

/// A request that hangs fails the test instead of stalling it.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Start-up: up to 300 × 50 ms for `/healthz` to answer.
const HEALTH_TRIES: u32 = 300;
const HEALTH_INTERVAL: Duration = Duration::from_millis(50);
/// Approval: the job runner polls every second on each node; up to 150 × 200 ms.
const APPROVAL_TRIES: usize = 150;
const APPROVAL_INTERVAL: Duration = Duration::from_millis(200);
/// Lines of each server's log shown when the test fails.
const LOG_TAIL_LINES: usize = 60;

struct Node {
    base: String,
    child: Child,
    log: PathBuf,
}

/// The server processes of one test: killed and reaped when dropped, also on panic, when
/// the tail of each log is printed to say what the servers saw.
#[derive(Default)]
struct Nodes(Vec<Node>);

impl Drop for Nodes {
    fn drop(&mut self) {
        for node in &mut self.0 {
            let _ = node.child.kill();
            let _ = node.child.wait();
            if std::thread::panicking() {
                let log = std::fs::read_to_string(&node.log).unwrap_or_default();
                let lines: Vec<&str> = log.lines().collect();
                eprintln!("--- last lines of the server at {} ---", node.base);
                for line in &lines[lines.len().saturating_sub(LOG_TAIL_LINES)..] {
                    eprintln!("{line}");
                }
            }
        }
    }
}

/// Runs a one-shot command of the binary; returns its standard output.
fn run_cli(database_url: &str, args: &[&str]) -> String {
    let output = Command::new(BIN)
        .arg("--database")
        .arg(database_url)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run the tributary binary");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "tributary {:?} failed ({}):\n{stdout}\n{}",
        args.first(),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

/// Starts `tributary serve` on a free port and waits until `/healthz` answers 200.
async fn start_node(client: &Client, database_url: &str, logs: &Path, nodes: &mut Nodes) -> String {
    let port = free_port();
    let log = logs.join(format!("node-{}.log", nodes.0.len()));
    let file = File::create(&log).expect("create the node's log file");
    let child = Command::new(BIN)
        .args(["--database", database_url, "serve", "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(file.try_clone().expect("second handle on the log file"))
        .stderr(file)
        .spawn()
        .expect("spawn tributary serve");
    let base = format!("http://127.0.0.1:{port}");
    nodes.0.push(Node {
        base: base.clone(),
        child,
        log,
    });
    let node = nodes.0.last_mut().expect("the node just started");
    for _ in 0..HEALTH_TRIES {
        if let Some(status) = node.child.try_wait().expect("the server's status") {
            panic!("tributary serve on port {port} exited early: {status}");
        }
        if let Ok(response) = client.get(format!("{base}/healthz")).send().await
            && response.status() == StatusCode::OK
        {
            return base;
        }
        tokio::time::sleep(HEALTH_INTERVAL).await;
    }
    panic!("tributary serve on port {port} never answered /healthz with 200");
}

/// A workspace API key and a client that does not follow redirects.
#[derive(Clone)]
struct Api {
    client: Client,
    key: String,
}

impl Api {
    async fn send(&self, request: reqwest::RequestBuilder) -> (StatusCode, Value) {
        let response = request
            .bearer_auth(&self.key)
            .send()
            .await
            .expect("send a request");
        let status = response.status();
        let text = response.text().await.expect("response body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    async fn get(&self, base: &str, path: &str) -> (StatusCode, Value) {
        self.send(self.client.get(format!("{base}{path}"))).await
    }

    async fn post(&self, base: &str, path: &str, body: &Value) -> (StatusCode, Value) {
        self.send(self.client.post(format!("{base}{path}")).json(body))
            .await
    }

    /// Reports an event; asserts it was stored and earned (or clawed back) one commission.
    async fn event(
        &self,
        base: &str,
        idempotency_key: &str,
        body: &Value,
    ) -> (String, i64, String) {
        let request = self
            .client
            .post(format!("{base}/api/v1/events"))
            .header("Idempotency-Key", idempotency_key)
            .json(body);
        let (status, answer) = self.send(request).await;
        assert_eq!(status, StatusCode::CREATED, "{idempotency_key}: {answer}");
        let commissions = answer["commissions"].as_array().expect("commissions array");
        assert_eq!(commissions.len(), 1, "{idempotency_key}: {answer}");
        let commission = &commissions[0];
        (
            commission["id"]
                .as_str()
                .expect("commission id")
                .to_string(),
            commission["amount_minor"].as_i64().expect("amount_minor"),
            commission["state"].as_str().expect("state").to_string(),
        )
    }

    /// Follows a link like a browser; returns the click id from the redirect.
    async fn click(&self, base: &str, code: &str) -> String {
        let response = self
            .client
            .get(format!("{base}/r/{code}"))
            .header("User-Agent", BROWSER_UA)
            .send()
            .await
            .expect("follow the link");
        assert_eq!(response.status(), StatusCode::FOUND, "/r/{code} on {base}");
        let location = response.headers()["location"]
            .to_str()
            .expect("location header");
        let (_, query) = location
            .split_once("tclid=")
            .expect("tclid in the location");
        query.split('&').next().expect("click id").to_string()
    }
}

fn id(value: &Value) -> String {
    value["id"].as_str().expect("an id").to_string()
}

/// Two servers on one database, a workspace API key, and one program with its partners.
struct Cluster {
    api: Api,
    bases: [String; 2],
    program_id: String,
    partner_ids: Vec<String>,
}

impl Cluster {
    /// The node for the `n`th request: requests alternate between the two.
    fn node(&self, n: usize) -> &str {
        &self.bases[n % self.bases.len()]
    }
}

/// Migrates and initialises through the binary, starts two servers, and sets up over the API
/// one program with no hold (each commission is approved by the next job round, on either
/// node) and `PARTNERS` enrolled partners with a link each, alternating nodes.
async fn start_cluster(database_url: &str, logs: &Path, nodes: &mut Nodes) -> Cluster {
    run_cli(database_url, &["migrate"]);
    let init = [
        "init",
        "--workspace",
        "Two Nodes",
        "--email",
        "owner@two-nodes.example",
        "--password",
        "owner-password-1",
    ];
    run_cli(database_url, &init);
    let key = run_cli(database_url, &["keys", "create", "--name", "two-nodes"])
        .lines()
        .map(str::trim)
        .find(|line| line.starts_with("trb_"))
        .expect("keys create prints the key")
        .to_string();
    let client = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(REQUEST_TIMEOUT)
        .build()
        .expect("HTTP client");
    let bases = [
        start_node(&client, database_url, logs, nodes).await,
        start_node(&client, database_url, logs, nodes).await,
    ];
    let mut cluster = Cluster {
        api: Api { client, key },
        bases,
        program_id: String::new(),
        partner_ids: Vec::new(),
    };
    let api = &cluster.api;
    let program = json!({"name": "Two nodes", "destination_url": "https://shop.example/start", "currency": "USD",
        "window_days": 30, "hold_days": 0, "min_payout_minor": 0, "lead_flat_minor": LEAD_FLAT_MINOR, "sale_percent_bp": SALE_PERCENT_BP});
    let (status, program) = api
        .post(cluster.node(0), "/api/v1/programs", &program)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{program}");
    let program_id = id(&program);
    let mut partner_ids = Vec::new();
    for p in 0..PARTNERS {
        let partner = json!({"name": format!("Partner {p}"), "email": format!("partner{p}@partners.example")});
        let (status, partner) = api
            .post(cluster.node(p), "/api/v1/partners", &partner)
            .await;
        assert_eq!(status, StatusCode::CREATED, "{partner}");
        let partner_id = id(&partner);
        let enrollment = json!({"program_id": program_id, "partner_id": partner_id});
        let (status, body) = api
            .post(cluster.node(p + 1), "/api/v1/enrollments", &enrollment)
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let link = json!({"program_id": program_id, "partner_id": partner_id, "code": format!("two-nodes-{p}")});
        let (status, body) = api.post(cluster.node(p), "/api/v1/links", &link).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        partner_ids.push(partner_id);
    }
    cluster.program_id = program_id;
    cluster.partner_ids = partner_ids;
    cluster
}

/// A sale as reported, with the commission it earned.
struct Sale {
    customer: String,
    invoice: String,
    amount_minor: i64,
    commission_id: String,
}

/// What was reported: each commission earned (id → partner id, amount) and each sale.
struct Reported {
    commissions: BTreeMap<String, (String, i64)>,
    sales: Vec<Sale>,
}

/// Each customer clicks a partner's link on one node and reports a lead (with the click id)
/// and sales (bound to the partner by then) to alternating nodes.
async fn report_activity(cluster: &Cluster) -> Reported {
    let api = &cluster.api;
    let mut reported = Reported {
        commissions: BTreeMap::new(),
        sales: Vec::new(),
    };
    for (p, partner_id) in cluster.partner_ids.iter().enumerate() {
        for c in 0..CUSTOMERS_PER_PARTNER {
            let n = p * CUSTOMERS_PER_PARTNER + c;
            let customer = format!("cus-{n}");
            let click_id = api.click(cluster.node(n), &format!("two-nodes-{p}")).await;
            let lead = json!({"type": "lead", "customer_id": customer, "click_id": click_id});
            let (commission_id, amount_minor, _) = api
                .event(cluster.node(n + 1), &format!("lead-{n}"), &lead)
                .await;
            assert_eq!(amount_minor, LEAD_FLAT_MINOR);
            reported
                .commissions
                .insert(commission_id, (partner_id.clone(), amount_minor));
            for s in 0..SALES_PER_CUSTOMER {
                // Multiples of 10 000 / SALE_PERCENT_BP, so the percentage is exact.
                let amount_minor = 10_000 + 1_000 * (n * SALES_PER_CUSTOMER + s) as i64;
                let invoice = format!("in-{n}-{s}");
                let sale = json!({"type": "sale", "customer_id": customer, "amount_minor": amount_minor, "currency": "USD", "invoice_id": invoice});
                let (commission_id, earned_minor, _) = api
                    .event(cluster.node(n + s), &format!("sale-{n}-{s}"), &sale)
                    .await;
                assert_eq!(earned_minor, amount_minor * SALE_PERCENT_BP / 10_000);
                reported
                    .commissions
                    .insert(commission_id.clone(), (partner_id.clone(), earned_minor));
                reported.sales.push(Sale {
                    customer: customer.clone(),
                    invoice,
                    amount_minor,
                    commission_id,
                });
            }
        }
    }
    assert_eq!(reported.commissions.len(), COMMISSIONS);
    reported
}

/// Waits, bounded, until the job runners have approved exactly the `want`ed commissions.
async fn wait_until_approved(cluster: &Cluster, want: &BTreeSet<String>) {
    let mut approved = BTreeSet::new();
    for attempt in 0..APPROVAL_TRIES {
        let path = "/api/v1/commissions?state=approved&limit=200";
        let (status, listing) = cluster.api.get(cluster.node(attempt), path).await;
        assert_eq!(status, StatusCode::OK, "{listing}");
        approved = listing["data"]
            .as_array()
            .expect("data")
            .iter()
            .map(id)
            .collect();
        if approved == *want {
            return;
        }
        tokio::time::sleep(APPROVAL_INTERVAL).await;
    }
    assert_eq!(
        approved, *want,
        "every commission approved by the job runners"
    );
}

/// Releases together `BATCH_REQUESTS_PER_NODE` payout-batch requests on each node and a
/// full refund of `sale` on the second node. Returns each batch request's answer and the
/// refund's commission (id, amount, state).
async fn race(cluster: &Cluster, sale: &Sale) -> (Vec<(StatusCode, Value)>, (String, i64, String)) {
    let batch_requests = BATCH_REQUESTS_PER_NODE * cluster.bases.len();
    let start = Arc::new(tokio::sync::Barrier::new(batch_requests + 1));
    let mut batch_tasks = Vec::new();
    for n in 0..batch_requests {
        let (api, base, start) = (
            cluster.api.clone(),
            cluster.node(n).to_string(),
            start.clone(),
        );
        let body = json!({"program_id": cluster.program_id});
        batch_tasks.push(tokio::spawn(async move {
            start.wait().await;
            api.post(&base, "/api/v1/payouts", &body).await
        }));
    }
    let refund = json!({"type": "refund", "customer_id": sale.customer, "amount_minor": sale.amount_minor, "currency": "USD", "invoice_id": sale.invoice});
    let (api, base) = (cluster.api.clone(), cluster.node(1).to_string());
    let refund_task = tokio::spawn(async move {
        start.wait().await;
        api.event(&base, "refund-0", &refund).await
    });
    let mut outcomes = Vec::new();
    for task in batch_tasks {
        outcomes.push(task.await.expect("batch request task"));
    }
    (outcomes, refund_task.await.expect("refund task"))
}

/// One commission row as PostgreSQL holds it.
#[derive(Debug)]
struct Row {
    partner_id: String,
    amount_minor: i64,
    state: String,
    batch_id: Option<String>,
}

async fn rows<T>(
    db: &tokio_postgres::Client,
    sql: &str,
    map: impl Fn(&tokio_postgres::Row) -> T,
) -> Vec<T> {
    db.query(sql, &[])
        .await
        .unwrap_or_else(|error| panic!("{sql}: {error}"))
        .iter()
        .map(map)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_nodes_race_payout_batches_and_a_refund() {
    // Declared in this order so they drop in reverse: servers killed, logs removed, database dropped.
    let database = TestDatabase::create(Backend::Postgres)
        .await
        .expect("test database");
    let logs = tempfile::tempdir().expect("directory for server logs");
    let mut nodes = Nodes::default();
    let cluster = start_cluster(&database.url, logs.path(), &mut nodes).await;
    let reported = report_activity(&cluster).await;
    let approved: BTreeSet<String> = reported.commissions.keys().cloned().collect();
    wait_until_approved(&cluster, &approved).await;

    let refunded = &reported.sales[0];
    let (outcomes, (clawback_id, clawback_minor, clawback_state)) = race(&cluster, refunded).await;
    // Approved money comes back out of payable, whether or not the sale's commission is batched yet.
    let refunded_minor = reported.commissions[&refunded.commission_id].1;
    assert_eq!(
        (clawback_minor, clawback_state.as_str()),
        (-refunded_minor, "approved")
    );

    // Every commission was approved before the race and the refund only adds a negative one,
    // so the first batch to take the program lock takes every partner, and every later one
    // finds nothing positive left: exactly one 201, the rest 409. No 5xx, ever.
    for (status, body) in &outcomes {
        assert!(
            *status == StatusCode::CREATED
                || (*status == StatusCode::CONFLICT && body["error"]["code"] == "conflict"),
            "a batch request answered {status}: {body}"
        );
    }
    let made: Vec<&Value> = outcomes
        .iter()
        .filter(|(status, _)| *status == StatusCode::CREATED)
        .map(|(_, body)| body)
        .collect();
    assert_eq!(
        made.len(),
        1,
        "exactly one batch request wins; batches made: {:?}",
        made.iter().map(|batch| &batch["id"]).collect::<Vec<_>>()
    );
    let batch_id = id(made[0]);

    // From here on the database is the ground truth.
    let (db, connection) = tokio_postgres::connect(&database.url, tokio_postgres::NoTls)
        .await
        .expect("connect to the test database");
    let driver = tokio::spawn(connection);
    let commissions: BTreeMap<String, Row> = rows(&db, "SELECT id::TEXT, partner_id::TEXT, amount_minor, state, payout_batch_id::TEXT FROM commissions", |row| {
        (row.get(0), Row { partner_id: row.get(1), amount_minor: row.get(2), state: row.get(3), batch_id: row.get(4) })
    })
    .await
    .into_iter()
    .collect();
    let batches: Vec<(String, i64, i64, String)> = rows(
        &db,
        "SELECT id::TEXT, total_minor, item_count, state FROM payout_batches",
        |row| (row.get(0), row.get(1), row.get(2), row.get(3)),
    )
    .await;
    let items: Vec<(String, String, i64)> = rows(
        &db,
        "SELECT batch_id::TEXT, partner_id::TEXT, amount_minor FROM payout_items",
        |row| (row.get(0), row.get(1), row.get(2)),
    )
    .await;

    // The commissions are those reported and the clawback, nothing more.
    let mut all_ids = approved.clone();
    all_ids.insert(clawback_id.clone());
    assert_eq!(
        commissions.keys().cloned().collect::<BTreeSet<_>>(),
        all_ids
    );

    // One batch, the one answered, and every commission approved before the race is in it.
    assert_eq!(batches.len(), 1, "{batches:?}");
    let (stored_id, total_minor, item_count, state) = &batches[0];
    assert_eq!((stored_id, state.as_str()), (&batch_id, "created"));
    assert_eq!(
        *total_minor,
        made[0]["total_minor"].as_i64().expect("total_minor")
    );
    for commission_id in &approved {
        let row = &commissions[commission_id];
        assert_eq!(
            (row.state.as_str(), row.batch_id.as_ref()),
            ("in_payout", Some(&batch_id)),
            "{commission_id}: {row:?}"
        );
    }
    // The clawback is the only commission that may be left out, and only in one way: if the
    // refund committed before the winning batch read the approved commissions, it is netted
    // into that batch; if after, it stays approved outside any batch (the partner's payable
    // goes negative and the next batch nets it). Nothing else is approved or unbatched.
    let clawback = &commissions[&clawback_id];
    let clawback_batched = match (clawback.state.as_str(), clawback.batch_id.as_ref()) {
        ("in_payout", Some(batch)) if *batch == batch_id => true,
        ("approved", None) => false,
        _ => panic!("the clawback is neither in the batch nor left approved: {clawback:?}"),
    };
    for (commission_id, row) in &commissions {
        assert_eq!(
            row.state == "in_payout",
            row.batch_id.is_some(),
            "{commission_id}: {row:?}"
        );
    }

    // The batch adds up: its total is the sum of its items, and each partner's item is the sum
    // of that partner's commissions in the batch (a commission taken twice would break this).
    let mut in_batch_by_partner: BTreeMap<&str, i64> = BTreeMap::new();
    for row in commissions
        .values()
        .filter(|row| row.batch_id.as_ref() == Some(&batch_id))
    {
        *in_batch_by_partner
            .entry(row.partner_id.as_str())
            .or_default() += row.amount_minor;
    }
    let items_by_partner: BTreeMap<&str, i64> = items
        .iter()
        .map(|(batch, partner, amount)| {
            assert_eq!(batch, &batch_id);
            (partner.as_str(), *amount)
        })
        .collect();
    assert_eq!(items_by_partner.len(), items.len(), "one item per partner");
    assert_eq!(items_by_partner, in_batch_by_partner);
    assert_eq!(*item_count, items.len() as i64);
    assert_eq!(
        *total_minor,
        items.iter().map(|(_, _, amount)| amount).sum::<i64>()
    );
    let reported_minor: i64 = reported
        .commissions
        .values()
        .map(|(_, amount)| amount)
        .sum();
    let netted_minor = if clawback_batched {
        clawback.amount_minor
    } else {
        0
    };
    assert_eq!(*total_minor, reported_minor + netted_minor);

    // The ledger sums to zero per currency, and so does every transaction.
    let totals: Vec<(String, i64)> = rows(
        &db,
        "SELECT currency, SUM(amount_minor)::BIGINT FROM ledger_lines GROUP BY currency",
        |row| (row.get(0), row.get(1)),
    )
    .await;
    assert!(
        !totals.is_empty() && totals.iter().all(|(_, sum)| *sum == 0),
        "{totals:?}"
    );
    let unbalanced: Vec<String> = rows(
        &db,
        "SELECT t.id::TEXT FROM ledger_transactions t LEFT JOIN ledger_lines l ON l.transaction_id = t.id
         GROUP BY t.id, l.currency HAVING COUNT(l.transaction_id) < 2 OR SUM(l.amount_minor) <> 0",
        |row| row.get(0),
    )
    .await;
    assert!(
        unbalanced.is_empty(),
        "unbalanced ledger transactions: {unbalanced:?}"
    );
    let batch_postings: Vec<String> = rows(
        &db,
        "SELECT source_id FROM ledger_transactions WHERE kind = 'payout_batch'",
        |row| row.get(0),
    )
    .await;
    assert_eq!(
        batch_postings,
        std::slice::from_ref(&batch_id),
        "one posting per batch"
    );

    // And each partner's accounts agree with its commissions' states. Lines are debits
    // positive: expense is what was earned net of clawbacks, payable and in transit are
    // credits of the approved and the batched amounts, pending is empty, nothing is paid.
    let balances: BTreeMap<(String, String), i64> = rows(
        &db,
        "SELECT partner_id::TEXT, account_kind, SUM(amount_minor)::BIGINT FROM ledger_lines GROUP BY 1, 2",
        |row| ((row.get(0), row.get(1)), row.get(2)),
    )
    .await
    .into_iter()
    .collect();
    for partner_id in &cluster.partner_ids {
        let of_partner = || {
            commissions
                .values()
                .filter(|row| &row.partner_id == partner_id)
        };
        let sum_in = |state: &str| -> i64 {
            of_partner()
                .filter(|row| row.state == state)
                .map(|row| row.amount_minor)
                .sum()
        };
        let balance = |account: &str| {
            balances
                .get(&(partner_id.clone(), account.to_string()))
                .copied()
                .unwrap_or(0)
        };
        assert_eq!(
            [
                "commission_expense",
                "partner_pending",
                "partner_payable",
                "payouts_in_transit",
                "cash"
            ]
            .map(balance),
            [
                of_partner().map(|row| row.amount_minor).sum(),
                0,
                -sum_in("approved"),
                -sum_in("in_payout"),
                0
            ],
            "partner {partner_id}: expense, pending, payable, in transit, cash"
        );
    }

    drop(db);
    driver
        .await
        .expect("connection task")
        .expect("connection closed cleanly");
}
