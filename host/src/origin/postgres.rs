//! PostgreSQL origins: a few connections (each pipelines concurrent
//! queries), the operator's statements prepared once per connection, and
//! the conversions between `SqlValue` and PostgreSQL's types.
//!
//! A plugin picks a statement by name and gives parameters; the host
//! converts each parameter to the type PostgreSQL inferred for it (text
//! `"42"` becomes an `int8` where the statement wants one), so mappings in
//! any language can stay simple. Column types the host does not convert
//! are refused with the advice to cast them in the statement (`::text`).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::BytesMut;
use futures_util::{StreamExt, pin_mut};
use tokio::sync::Mutex;
use tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};
use tokio_postgres::{Client, NoTls, Row, Statement};

use super::OriginError;
use super::mapping::{OriginResponse, SqlValue};

/// Connections of the write-behind flusher (batches in flight at once;
/// `[write_behind] flush_concurrency` takes at most this many).
const WRITERS: usize = 4;

/// Rows accepted from one statement.
const MAX_ROWS: usize = 10_000;

struct Conn {
    client: Client,
    prepared: parking_lot::Mutex<HashMap<String, Statement>>,
}

/// What a write-behind batch did.
pub struct BatchRun {
    /// Each write's answer, in order.
    pub answers: Vec<Result<OriginResponse, OriginError>>,
    /// Calls of batch forms (`batch_statements`) made.
    pub batch_calls: u64,
    /// Whether the transaction failed and the writes were run one by one.
    pub fell_back: bool,
}

/// One of an origin's connections (opened on first use) and how many
/// queries it has in flight.
#[derive(Default)]
struct Slot {
    conn: Mutex<Option<Arc<Conn>>>,
    busy: AtomicUsize,
}

/// A query's claim on a slot, given up when the query is done (or dropped).
struct Busy<'a>(&'a AtomicUsize);

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// One PostgreSQL origin.
pub struct PgOrigin {
    name: String,
    config: tokio_postgres::Config,
    statements: BTreeMap<String, String>,
    /// Statement name → the declared statement that runs many of its
    /// writes at once, each parameter an array (write-behind batches).
    batch_statements: BTreeMap<String, String>,
    slots: Vec<Slot>,
    /// The write-behind flusher's own connection: its batches are
    /// transactions, which must not interleave with other callers' queries.
    writers: Vec<Mutex<Option<Arc<Conn>>>>,
    next: AtomicUsize,
    max_response_bytes: usize,
}

impl PgOrigin {
    /// An origin; connections are opened on first use (and again after
    /// they break), so hoard starts even when the database is down.
    pub fn new(
        name: &str,
        connection: &str,
        statements: BTreeMap<String, String>,
        batch_statements: BTreeMap<String, String>,
        connections: usize,
        max_response_bytes: usize,
    ) -> Result<PgOrigin, String> {
        let config: tokio_postgres::Config = connection
            .parse()
            .map_err(|e| format!("origin `{name}`: bad connection string: {e}"))?;
        Ok(PgOrigin {
            name: name.to_owned(),
            config,
            statements,
            batch_statements,
            slots: (0..connections.max(1)).map(|_| Slot::default()).collect(),
            writers: (0..WRITERS).map(|_| Mutex::new(None)).collect(),
            next: AtomicUsize::new(0),
            max_response_bytes,
        })
    }

    /// A connection for one query: the first one with nothing in flight,
    /// so that light traffic keeps to a few warm connections (and their
    /// server processes) instead of waking each of them in turn; when all
    /// are busy, the next in turn (its query is pipelined behind the others).
    async fn conn(&self) -> Result<(Arc<Conn>, Busy<'_>), OriginError> {
        let slot = match self
            .slots
            .iter()
            .position(|s| s.busy.load(Ordering::Relaxed) == 0)
        {
            Some(idle) => idle,
            None => self.next.fetch_add(1, Ordering::Relaxed) % self.slots.len(),
        };
        let slot = &self.slots[slot];
        slot.busy.fetch_add(1, Ordering::Relaxed);
        let busy = Busy(&slot.busy);
        let mut held = slot.conn.lock().await;
        if let Some(conn) = held.as_ref()
            && !conn.client.is_closed()
        {
            return Ok((Arc::clone(conn), busy));
        }
        let conn = self.connect().await?;
        *held = Some(Arc::clone(&conn));
        Ok((conn, busy))
    }

    async fn connect(&self) -> Result<Arc<Conn>, OriginError> {
        let (client, connection) = self
            .config
            .connect(NoTls)
            .await
            .map_err(|e| OriginError::Unreachable(format!("connect: {e}")))?;
        let name = self.name.clone();
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::warn!(origin = %name, %error, "PostgreSQL connection closed");
            }
        });
        Ok(Arc::new(Conn {
            client,
            prepared: parking_lot::Mutex::new(HashMap::new()),
        }))
    }

    /// Runs `writes` (declared statements with parameters) as one
    /// transaction on the writer connection: one commit, one WAL flush for
    /// the batch. When one of them fails, the transaction is rolled back and
    /// each is run again on its own, so the others still land and the
    /// failing one gets its own error. `Err` means the whole batch did not
    /// run (the database could not be reached).
    pub async fn run_batch(
        &self,
        writes: &[(String, Vec<SqlValue>)],
    ) -> Result<BatchRun, OriginError> {
        // A free writer connection, or wait for the first.
        let mut held = match self.writers.iter().find_map(|w| w.try_lock().ok()) {
            Some(held) => held,
            None => match self.writers.first() {
                Some(first) => first.lock().await,
                None => return Err(OriginError::Unavailable("no writer connection".into())),
            },
        };
        // Taken out while in use: if this future is dropped mid-transaction
        // (timeout), the connection goes with it and the server rolls back.
        let conn = match held.take() {
            Some(conn) if !conn.client.is_closed() => conn,
            _ => self.connect().await?,
        };
        let unreachable = |e: tokio_postgres::Error| match e.as_db_error() {
            Some(_) => classify(&e, "BEGIN/COMMIT"),
            None => OriginError::Unreachable(e.to_string()),
        };
        conn.client
            .batch_execute("BEGIN")
            .await
            .map_err(unreachable)?;
        let (answers, batch_calls) = self.run_grouped(&conn, writes).await;
        if answers.iter().all(Result::is_ok) {
            conn.client
                .batch_execute("COMMIT")
                .await
                .map_err(unreachable)?;
            *held = Some(conn);
            return Ok(BatchRun {
                answers,
                batch_calls,
                fell_back: false,
            });
        }
        if let Some(Err(down @ OriginError::Unreachable(_))) = answers
            .iter()
            .find(|a| matches!(a, Err(OriginError::Unreachable(_))))
        {
            return Err(down.clone());
        }
        conn.client
            .batch_execute("ROLLBACK")
            .await
            .map_err(unreachable)?;
        let alone = futures_util::future::join_all(
            writes
                .iter()
                .map(|(statement, params)| self.run_on(&conn, statement, params)),
        )
        .await;
        *held = Some(conn);
        Ok(BatchRun {
            answers: alone,
            batch_calls,
            fell_back: true,
        })
    }

    /// Runs the declared statement `statement` with `params`.
    pub async fn run(
        &self,
        statement: &str,
        params: &[SqlValue],
    ) -> Result<OriginResponse, OriginError> {
        if !self.statements.contains_key(statement) {
            return Err(self.undeclared(statement));
        }
        let (conn, _busy) = self.conn().await?;
        self.run_on(&conn, statement, params).await
    }

    /// Every write of a batch, inside the open transaction: the writes of a
    /// statement with a batch form (`batch_statements`) as one call of it,
    /// the others one by one; all pipelined on the connection.
    async fn run_grouped(
        &self,
        conn: &Conn,
        writes: &[(String, Vec<SqlValue>)],
    ) -> (Vec<Result<OriginResponse, OriginError>>, u64) {
        let mut batched: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        let mut single = Vec::new();
        for (i, (statement, _)) in writes.iter().enumerate() {
            match self.batch_statements.get(statement) {
                Some(batch) => batched.entry(batch.as_str()).or_default().push(i),
                None => single.push(i),
            }
        }
        let mut answers: Vec<Result<OriginResponse, OriginError>> = (0..writes.len())
            .map(|_| Err(OriginError::Unavailable("not run".into())))
            .collect();
        let groups = futures_util::future::join_all(batched.iter().map(|(batch, members)| {
            let rows: Vec<&Vec<SqlValue>> = members.iter().map(|&i| &writes[i].1).collect();
            async move { self.run_columns(conn, batch, &rows).await }
        }));
        let singles = futures_util::future::join_all(
            single
                .iter()
                .map(|&i| self.run_on(conn, &writes[i].0, &writes[i].1)),
        );
        let (groups, singles) = futures_util::future::join(groups, singles).await;
        for ((_, members), answer) in batched.iter().zip(groups) {
            for &i in members {
                answers[i] = answer.clone();
            }
        }
        for (i, answer) in single.into_iter().zip(singles) {
            answers[i] = answer;
        }
        (answers, batched.len() as u64)
    }

    async fn run_on(
        &self,
        conn: &Conn,
        statement: &str,
        params: &[SqlValue],
    ) -> Result<OriginResponse, OriginError> {
        let stmt = self.prepare_on(conn, statement).await?;
        if stmt.params().len() != params.len() {
            return Err(OriginError::Refused(format!(
                "statement `{statement}` takes {} parameters, the mapping gave {}",
                stmt.params().len(),
                params.len()
            )));
        }
        let mut args: Vec<Param> = Vec::with_capacity(params.len());
        for (i, (value, ty)) in params.iter().zip(stmt.params()).enumerate() {
            args.push(Param::convert(value, ty).map_err(|why| {
                OriginError::Refused(format!(
                    "statement `{statement}` parameter ${}: {why}",
                    i + 1
                ))
            })?);
        }
        self.query_on(conn, statement, &stmt, &args).await
    }

    /// Runs the batch form of a statement once for many writes: its `$n`
    /// is an array of every write's `$n` (as `unnest($1::text[], …)` reads
    /// them), so PostgreSQL plans and executes one statement for the batch.
    async fn run_columns(
        &self,
        conn: &Conn,
        batch: &str,
        rows: &[&Vec<SqlValue>],
    ) -> Result<OriginResponse, OriginError> {
        let stmt = self.prepare_on(conn, batch).await?;
        let mut args: Vec<Param> = Vec::with_capacity(stmt.params().len());
        for (i, ty) in stmt.params().iter().enumerate() {
            let tokio_postgres::types::Kind::Array(member) = ty.kind() else {
                return Err(OriginError::Refused(format!(
                    "batch statement `{batch}` parameter ${} is {ty}, not an array",
                    i + 1
                )));
            };
            let mut column = Vec::with_capacity(rows.len());
            for row in rows {
                let value = row.get(i).ok_or_else(|| {
                    OriginError::Refused(format!(
                        "batch statement `{batch}` takes {} parameters, a write gave {}",
                        stmt.params().len(),
                        row.len()
                    ))
                })?;
                column.push(Param::convert(value, member).map_err(|why| {
                    OriginError::Refused(format!(
                        "batch statement `{batch}` parameter ${}: {why}",
                        i + 1
                    ))
                })?);
            }
            args.push(Param::Array(column));
        }
        self.query_on(conn, batch, &stmt, &args).await
    }

    async fn prepare_on(&self, conn: &Conn, statement: &str) -> Result<Statement, OriginError> {
        let Some(sql) = self.statements.get(statement) else {
            return Err(self.undeclared(statement));
        };
        if let Some(stmt) = conn.prepared.lock().get(statement).cloned() {
            return Ok(stmt);
        }
        let stmt = conn
            .client
            .prepare(sql)
            .await
            .map_err(|e| classify(&e, statement))?;
        conn.prepared
            .lock()
            .insert(statement.to_owned(), stmt.clone());
        Ok(stmt)
    }

    async fn query_on(
        &self,
        conn: &Conn,
        statement: &str,
        stmt: &Statement,
        args: &[Param],
    ) -> Result<OriginResponse, OriginError> {
        let stream = conn
            .client
            .query_raw(stmt, args.iter())
            .await
            .map_err(|e| classify(&e, statement))?;
        pin_mut!(stream);
        let columns: Vec<String> = stmt.columns().iter().map(|c| c.name().to_owned()).collect();
        let mut rows = Vec::new();
        let mut bytes = 0usize;
        while let Some(row) = stream.next().await {
            let row = row.map_err(|e| classify(&e, statement))?;
            let values = row_values(&row)?;
            bytes += values.iter().map(value_size).sum::<usize>();
            rows.push(values);
            if rows.len() > MAX_ROWS || bytes > self.max_response_bytes {
                return Err(OriginError::Refused(format!(
                    "statement `{statement}` returned more than {MAX_ROWS} rows or {} bytes",
                    self.max_response_bytes
                )));
            }
        }
        let affected = stream.rows_affected().unwrap_or(0);
        Ok(OriginResponse::Sql {
            columns,
            rows,
            affected,
        })
    }
}

impl PgOrigin {
    fn undeclared(&self, statement: &str) -> OriginError {
        OriginError::Refused(format!(
            "statement `{statement}` is not declared for origin `{}` (declared: {})",
            self.name,
            self.statements
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        ))
    }
}

/// A database error is a refusal (the origin answered no: a constraint,
/// bad SQL), except the classes that say "not now" (connection, transaction
/// rollback such as a serialization failure or deadlock, insufficient
/// resources, operator intervention, system error): those are worth
/// retrying. No error at all from the database means it could not be reached.
fn classify(error: &tokio_postgres::Error, statement: &str) -> OriginError {
    match error.as_db_error() {
        Some(db) => {
            let code = db.code().code();
            let text = format!("statement `{statement}`: {} ({code})", db.message());
            match code.get(..2) {
                Some("08" | "40" | "53" | "57" | "58") => OriginError::Unavailable(text),
                _ => OriginError::Refused(text),
            }
        }
        None => OriginError::Unreachable(format!("statement `{statement}`: {error}")),
    }
}

fn value_size(v: &SqlValue) -> usize {
    match v {
        SqlValue::Text(s) => s.len(),
        SqlValue::Bytes(b) => b.len(),
        _ => 8,
    }
}

fn row_values(row: &Row) -> Result<Vec<SqlValue>, OriginError> {
    let mut out = Vec::with_capacity(row.len());
    for (i, column) in row.columns().iter().enumerate() {
        let bad = |e: tokio_postgres::Error| {
            OriginError::Refused(format!("column `{}`: {e}", column.name()))
        };
        let ty = column.type_();
        let value = match *ty {
            Type::BOOL => row
                .try_get::<_, Option<bool>>(i)
                .map_err(bad)?
                .map(SqlValue::Bool),
            Type::INT2 => row
                .try_get::<_, Option<i16>>(i)
                .map_err(bad)?
                .map(|v| SqlValue::Int(v.into())),
            Type::INT4 => row
                .try_get::<_, Option<i32>>(i)
                .map_err(bad)?
                .map(|v| SqlValue::Int(v.into())),
            Type::INT8 => row
                .try_get::<_, Option<i64>>(i)
                .map_err(bad)?
                .map(SqlValue::Int),
            Type::FLOAT4 => row
                .try_get::<_, Option<f32>>(i)
                .map_err(bad)?
                .map(|v| SqlValue::Float(v.into())),
            Type::FLOAT8 => row
                .try_get::<_, Option<f64>>(i)
                .map_err(bad)?
                .map(SqlValue::Float),
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => row
                .try_get::<_, Option<String>>(i)
                .map_err(bad)?
                .map(SqlValue::Text),
            Type::BYTEA => row
                .try_get::<_, Option<Vec<u8>>>(i)
                .map_err(bad)?
                .map(SqlValue::Bytes),
            Type::JSON | Type::JSONB => row
                .try_get::<_, Option<serde_json::Value>>(i)
                .map_err(bad)?
                .map(|v| SqlValue::Text(v.to_string())),
            _ => {
                return Err(OriginError::Refused(format!(
                    "column `{}` has type {ty}, which hoard does not convert; cast it in the statement (`{}::text`)",
                    column.name(),
                    column.name()
                )));
            }
        };
        out.push(value.unwrap_or(SqlValue::Null));
    }
    Ok(out)
}

/// One parameter, already converted to the statement's type.
#[derive(Debug)]
enum Param {
    Null,
    Bool(bool),
    I16(i16),
    I32(i32),
    I64(i64),
    F32(f32),
    F64(f64),
    Text(String),
    Bytes(Vec<u8>),
    Json(serde_json::Value),
    /// A column of a batch statement (only built for an array parameter).
    Array(Vec<Param>),
}

impl Param {
    fn convert(value: &SqlValue, ty: &Type) -> Result<Param, String> {
        let text = |v: &SqlValue| -> Option<String> {
            match v {
                SqlValue::Text(s) => Some(s.clone()),
                SqlValue::Int(i) => Some(i.to_string()),
                SqlValue::Float(f) => Some(f.to_string()),
                SqlValue::Bool(b) => Some(b.to_string()),
                _ => None,
            }
        };
        let int = |v: &SqlValue| -> Result<i64, String> {
            match v {
                SqlValue::Int(i) => Ok(*i),
                SqlValue::Text(s) => s
                    .trim()
                    .parse()
                    .map_err(|_| format!("`{s}` is not an integer")),
                other => Err(format!("{other:?} is not an integer")),
            }
        };
        if matches!(value, SqlValue::Null) {
            return Ok(Param::Null);
        }
        let narrow = |i: i64, what: &str| format!("{i} does not fit {what}");
        Ok(match *ty {
            Type::BOOL => match value {
                SqlValue::Bool(b) => Param::Bool(*b),
                SqlValue::Text(s) if s == "true" || s == "false" => Param::Bool(s == "true"),
                other => return Err(format!("{other:?} is not a boolean")),
            },
            Type::INT2 => {
                let i = int(value)?;
                Param::I16(i16::try_from(i).map_err(|_| narrow(i, "int2"))?)
            }
            Type::INT4 => {
                let i = int(value)?;
                Param::I32(i32::try_from(i).map_err(|_| narrow(i, "int4"))?)
            }
            Type::INT8 => Param::I64(int(value)?),
            Type::FLOAT4 | Type::FLOAT8 => {
                let f = match value {
                    SqlValue::Float(f) => *f,
                    #[allow(clippy::cast_precision_loss)]
                    SqlValue::Int(i) => *i as f64,
                    SqlValue::Text(s) => s
                        .trim()
                        .parse()
                        .map_err(|_| format!("`{s}` is not a number"))?,
                    other => return Err(format!("{other:?} is not a number")),
                };
                if *ty == Type::FLOAT4 {
                    #[allow(clippy::cast_possible_truncation)]
                    Param::F32(f as f32)
                } else {
                    Param::F64(f)
                }
            }
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => {
                Param::Text(text(value).ok_or_else(|| format!("{value:?} is not text"))?)
            }
            Type::BYTEA => match value {
                SqlValue::Bytes(b) => Param::Bytes(b.clone()),
                SqlValue::Text(s) => Param::Bytes(s.as_bytes().to_vec()),
                other => return Err(format!("{other:?} is not bytes")),
            },
            Type::JSON | Type::JSONB => {
                let s = text(value).ok_or_else(|| format!("{value:?} is not JSON text"))?;
                Param::Json(serde_json::from_str(&s).map_err(|e| format!("not JSON: {e}"))?)
            }
            _ => {
                return Err(format!(
                    "type {ty} is not converted by hoard; cast the parameter in the statement (`$n::text`)"
                ));
            }
        })
    }
}

impl ToSql for Param {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Param::Null => Ok(IsNull::Yes),
            Param::Bool(v) => v.to_sql(ty, out),
            Param::I16(v) => v.to_sql(ty, out),
            Param::I32(v) => v.to_sql(ty, out),
            Param::I64(v) => v.to_sql(ty, out),
            Param::F32(v) => v.to_sql(ty, out),
            Param::F64(v) => v.to_sql(ty, out),
            Param::Text(v) => v.to_sql(ty, out),
            Param::Bytes(v) => v.to_sql(ty, out),
            Param::Json(v) => v.to_sql(ty, out),
            Param::Array(v) => v.to_sql(ty, out),
        }
    }

    fn accepts(_ty: &Type) -> bool {
        // Converted to the statement's own parameter type in `Param::convert`.
        true
    }

    to_sql_checked!();
}
