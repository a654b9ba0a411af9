//! One way to run SQL on either engine: the store's statements are written once, in the forms
//! SQLite and PostgreSQL both accept, and run on a [`Conn`] that is one or the other.
//!
//! Parameters and rows cross as [`Value`]s (the few types the schema uses: integers, reals,
//! text, NULL), so no engine type reaches the store's methods. Statements number their
//! parameters `?1`, `?2`, …; PostgreSQL's `$1` is written from them once per statement text.
//! Transactions are closures ([`Conn::transaction`]): on PostgreSQL they run SERIALIZABLE and
//! run again when the server aborts one for a conflict with another replica, so a closure must
//! be safe to run twice (it only touches the database, and what it returns is built inside).

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::time::Duration;

use super::{Error, Result, SqlKind};

/// A value as the schema stores it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
}

/// A value that can be a statement's parameter.
pub trait ToValue {
    fn to_value(&self) -> Value;
}

macro_rules! int_values {
    ($($t:ty),*) => {$(
        impl ToValue for $t {
            fn to_value(&self) -> Value {
                Value::Int(*self as i64)
            }
        }
    )*};
}
int_values!(i64, i32, u32, u16, u8, usize, u64);

impl ToValue for bool {
    fn to_value(&self) -> Value {
        Value::Int(i64::from(*self))
    }
}

impl ToValue for f64 {
    fn to_value(&self) -> Value {
        Value::Real(*self)
    }
}

impl ToValue for str {
    fn to_value(&self) -> Value {
        Value::Text(self.to_string())
    }
}

impl ToValue for String {
    fn to_value(&self) -> Value {
        Value::Text(self.clone())
    }
}

impl ToValue for Value {
    fn to_value(&self) -> Value {
        self.clone()
    }
}

impl<T: ToValue + ?Sized> ToValue for &T {
    fn to_value(&self) -> Value {
        (**self).to_value()
    }
}

impl<T: ToValue> ToValue for Option<T> {
    fn to_value(&self) -> Value {
        self.as_ref().map_or(Value::Null, ToValue::to_value)
    }
}

/// A statement's parameters: `params![a, b]`, an array of one type, `()` for none, or values
/// built at run time.
pub trait Params {
    fn values(self) -> Vec<Value>;
}

impl Params for () {
    fn values(self) -> Vec<Value> {
        Vec::new()
    }
}

impl Params for Vec<Value> {
    fn values(self) -> Vec<Value> {
        self
    }
}

impl Params for &[Value] {
    fn values(self) -> Vec<Value> {
        self.to_vec()
    }
}

impl<T: ToValue, const N: usize> Params for [T; N] {
    fn values(self) -> Vec<Value> {
        self.iter().map(ToValue::to_value).collect()
    }
}

/// Parameters of mixed types, taken by reference as rusqlite's macro of the same name does.
macro_rules! params {
    ($($x:expr),* $(,)?) => {
        vec![$($crate::store::sql::ToValue::to_value(&$x)),*]
    };
}
pub(crate) use params;

/// A value read from a row.
pub trait FromValue: Sized {
    fn from_value(value: &Value) -> std::result::Result<Self, String>;
}

impl FromValue for i64 {
    fn from_value(value: &Value) -> std::result::Result<Self, String> {
        match value {
            Value::Int(i) => Ok(*i),
            other => Err(format!("expected an integer, found {other:?}")),
        }
    }
}

macro_rules! narrow_ints {
    ($($t:ty),*) => {$(
        impl FromValue for $t {
            fn from_value(value: &Value) -> std::result::Result<Self, String> {
                let wide = i64::from_value(value)?;
                <$t>::try_from(wide).map_err(|_| format!("{wide} is out of range"))
            }
        }
    )*};
}
narrow_ints!(i32, u32, u16, u8, usize, u64);

impl FromValue for bool {
    fn from_value(value: &Value) -> std::result::Result<Self, String> {
        Ok(i64::from_value(value)? != 0)
    }
}

impl FromValue for f64 {
    fn from_value(value: &Value) -> std::result::Result<Self, String> {
        match value {
            Value::Real(f) => Ok(*f),
            Value::Int(i) => Ok(*i as f64),
            other => Err(format!("expected a number, found {other:?}")),
        }
    }
}

impl FromValue for String {
    fn from_value(value: &Value) -> std::result::Result<Self, String> {
        match value {
            Value::Text(s) => Ok(s.clone()),
            other => Err(format!("expected text, found {other:?}")),
        }
    }
}

impl FromValue for Value {
    fn from_value(value: &Value) -> std::result::Result<Self, String> {
        Ok(value.clone())
    }
}

impl<T: FromValue> FromValue for Option<T> {
    fn from_value(value: &Value) -> std::result::Result<Self, String> {
        match value {
            Value::Null => Ok(None),
            other => T::from_value(other).map(Some),
        }
    }
}

/// One row of a result.
#[derive(Debug, Clone)]
pub struct Row(Vec<Value>);

impl Row {
    /// Column `i` (from 0) as a `T`; a value of another type is a data error naming the column.
    pub fn get<T: FromValue>(&self, i: usize) -> Result<T> {
        let value = self
            .0
            .get(i)
            .ok_or_else(|| Error::Data(format!("a row has no column {i}")))?;
        T::from_value(value).map_err(|e| Error::Data(format!("column {i}: {e}")))
    }
}

/// Which engine a [`Conn`] runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// How a transaction starts on SQLite; PostgreSQL's are all SERIALIZABLE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Begin {
    /// Takes the write lock at the first write (SQLite's default).
    Deferred,
    /// Takes the write lock at once: a transaction that will write anyway waits for it before
    /// doing any work.
    Immediate,
}

/// How many times a PostgreSQL transaction is run when the server keeps aborting it for a
/// conflict with another transaction; each conflict means another replica got its write in.
const CONFLICT_RETRIES: u32 = 12;

/// One database connection.
pub enum Conn {
    Sqlite(rusqlite::Connection),
    Postgres(Box<Pg>),
}

/// A PostgreSQL connection and the statements prepared on it.
pub struct Pg {
    /// Always `Some` until dropped (see `Drop for Pg`).
    client: RefCell<Option<postgres::Client>>,
    /// Prepared statements by the store's text (with `?n`): prepared once per connection.
    prepared: RefCell<HashMap<String, postgres::Statement>>,
    /// Transactions open (0 or 1): PostgreSQL never ends one on its own.
    depth: Cell<u32>,
    /// Where to connect again; never shown (it may hold a password).
    url: String,
    /// The connection's `application_name`, set again on a new connection.
    name: RefCell<Option<String>>,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Conn::Sqlite(_) => "Conn::Sqlite",
            Conn::Postgres(_) => "Conn::Postgres",
        })
    }
}

impl Conn {
    /// A PostgreSQL connection made to `url`, which it connects to again when the server
    /// closed it (a restart, a failover, an idle timeout).
    pub fn postgres(client: postgres::Client, url: &str) -> Conn {
        Conn::Postgres(Box::new(Pg {
            client: RefCell::new(Some(client)),
            prepared: RefCell::new(HashMap::new()),
            depth: Cell::new(0),
            url: url.to_string(),
            name: RefCell::new(None),
        }))
    }

    /// Names the connection on the server (`application_name`, kept across reconnects): other
    /// replicas tell this one's claims and leases from a dead replica's by it.
    pub fn set_name(&self, name: &str) -> Result<()> {
        if let Conn::Postgres(pg) = self {
            *pg.name.borrow_mut() = Some(name.to_string());
            self.execute(
                "SELECT set_config('application_name', ?1, false)",
                params![name],
            )?;
        }
        Ok(())
    }

    pub fn engine(&self) -> Engine {
        match self {
            Conn::Sqlite(_) => Engine::Sqlite,
            Conn::Postgres(_) => Engine::Postgres,
        }
    }

    /// The SQLite connection, for what only SQLite has (pragmas, backups).
    pub fn sqlite(&self) -> Option<&rusqlite::Connection> {
        match self {
            Conn::Sqlite(c) => Some(c),
            Conn::Postgres(_) => None,
        }
    }

    /// Runs a statement; the number of rows it changed.
    pub fn execute(&self, sql: &str, params: impl Params) -> Result<usize> {
        let values = params.values();
        match self {
            Conn::Sqlite(c) => {
                let mut stmt = c.prepare_cached(sql)?;
                Ok(stmt.execute(rusqlite::params_from_iter(values.iter().map(lite_value)))?)
            }
            Conn::Postgres(pg) => {
                let stmt = pg.statement(sql)?;
                let params = pg_params(&values);
                let n = {
                    let mut guard = pg.client();
                    let client: &mut postgres::Client = &mut guard;
                    off_runtime(|| client.execute(&stmt, &params))
                }
                .map_err(pg_error)?;
                Ok(n as usize)
            }
        }
    }

    /// Runs statements separated by `;`, with no parameters (schema changes).
    pub fn batch(&self, sql: &str) -> Result<()> {
        match self {
            Conn::Sqlite(c) => Ok(c.execute_batch(sql)?),
            Conn::Postgres(pg) => pg.again_if_closed(sql, || {
                pg.reopen_if_closed()?;
                let mut guard = pg.client();
                let client: &mut postgres::Client = &mut guard;
                off_runtime(|| client.batch_execute(sql)).map_err(pg_error)
            }),
        }
    }

    /// Every row of a query, each turned into a `T` by `f`.
    pub fn query_map<T>(
        &self,
        sql: &str,
        params: impl Params,
        mut f: impl FnMut(&Row) -> Result<T>,
    ) -> Result<Vec<T>> {
        let values = params.values();
        match self {
            Conn::Sqlite(c) => {
                let mut stmt = c.prepare_cached(sql)?;
                let width = stmt.column_count();
                let mut rows =
                    stmt.query(rusqlite::params_from_iter(values.iter().map(lite_value)))?;
                let mut out = Vec::new();
                while let Some(row) = rows.next()? {
                    let values = (0..width)
                        .map(|i| row.get_ref(i).map(from_lite))
                        .collect::<rusqlite::Result<Vec<_>>>()?;
                    out.push(f(&Row(values))?);
                }
                Ok(out)
            }
            Conn::Postgres(pg) => {
                let rows = pg.again_if_closed(sql, || {
                    let stmt = pg.statement(sql)?;
                    let params = pg_params(&values);
                    let mut guard = pg.client();
                    let client: &mut postgres::Client = &mut guard;
                    off_runtime(|| client.query(&stmt, &params)).map_err(pg_error)
                })?;
                rows.iter()
                    .map(|row| f(&Row(from_pg(row)?)))
                    .collect::<Result<Vec<_>>>()
            }
        }
    }

    /// The first row of a query as a `T`, or `None` when it has none.
    pub fn query_opt<T>(
        &self,
        sql: &str,
        params: impl Params,
        f: impl FnOnce(&Row) -> Result<T>,
    ) -> Result<Option<T>> {
        let mut f = Some(f);
        let mut first = None;
        // Rows past the first are read and dropped: the store's single-row queries have one.
        for row in self.query_map(sql, params, |r| Ok(r.clone()))? {
            if first.is_none() {
                first = Some(row);
            }
        }
        match (first, f.take()) {
            (Some(row), Some(f)) => f(&row).map(Some),
            _ => Ok(None),
        }
    }

    /// The one row a query must return, as a `T`.
    pub fn query_row<T>(
        &self,
        sql: &str,
        params: impl Params,
        f: impl FnOnce(&Row) -> Result<T>,
    ) -> Result<T> {
        self.query_opt(sql, params, f)?
            .ok_or_else(|| Error::Data(format!("a query returned no row: {}", first_line(sql))))
    }

    /// Runs `f` in a transaction: committed when it returns `Ok`, rolled back when it fails or
    /// panics. On PostgreSQL the transaction is SERIALIZABLE and `f` runs again (from a fresh
    /// transaction) when the server aborts it for a conflict or a deadlock.
    pub fn transaction<T>(&self, f: impl FnMut(&Conn) -> Result<T>) -> Result<T> {
        self.transaction_with(Begin::Deferred, f)
    }

    /// [`Conn::transaction`], starting SQLite's as `begin` says.
    pub fn transaction_with<T>(
        &self,
        begin: Begin,
        mut f: impl FnMut(&Conn) -> Result<T>,
    ) -> Result<T> {
        let start = match (self, begin) {
            (Conn::Sqlite(_), Begin::Deferred) => "BEGIN DEFERRED",
            (Conn::Sqlite(_), Begin::Immediate) => "BEGIN IMMEDIATE",
            (Conn::Postgres(_), _) => "BEGIN ISOLATION LEVEL SERIALIZABLE",
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.batch(start)?;
            let open = Open { conn: self };
            if let Conn::Postgres(pg) = self {
                pg.depth.set(pg.depth.get() + 1);
            }
            let result = f(self).and_then(|value| {
                self.batch("COMMIT")?;
                Ok(value)
            });
            if let Conn::Postgres(pg) = self {
                pg.depth.set(pg.depth.get() - 1);
            }
            match result {
                Ok(value) => {
                    std::mem::forget(open);
                    return Ok(value);
                }
                Err(e) => {
                    // Rolled back by the guard (a no-op when SQLite or the server already did).
                    drop(open);
                    if e.sql_kind() == Some(SqlKind::Conflict) && attempt < CONFLICT_RETRIES {
                        std::thread::sleep(Duration::from_millis(
                            fastrand::u64(1..=5) << attempt.min(6),
                        ));
                        continue;
                    }
                    return Err(e);
                }
            }
        }
    }

    /// Runs `f` inside a savepoint of the open transaction: when it fails, what it wrote is
    /// undone and the transaction goes on.
    pub fn savepoint<T>(&self, f: impl FnOnce(&Conn) -> Result<T>) -> Result<T> {
        self.batch("SAVEPOINT one")?;
        match f(self) {
            Ok(value) => {
                self.batch("RELEASE SAVEPOINT one")?;
                Ok(value)
            }
            Err(e) => {
                if self.in_transaction() {
                    self.batch("ROLLBACK TO SAVEPOINT one; RELEASE SAVEPOINT one")?;
                }
                Err(e)
            }
        }
    }

    /// Whether a transaction is open (SQLite ends one itself on some errors, a full disk
    /// among them).
    pub fn in_transaction(&self) -> bool {
        match self {
            Conn::Sqlite(c) => !c.is_autocommit(),
            Conn::Postgres(pg) => pg.depth.get() > 0,
        }
    }
}

/// Rolls back a transaction that did not reach its commit, a panic included.
struct Open<'a> {
    conn: &'a Conn,
}

impl Drop for Open<'_> {
    fn drop(&mut self) {
        let open = match self.conn {
            Conn::Sqlite(c) => !c.is_autocommit(),
            Conn::Postgres(_) => true,
        };
        if open {
            let _ = self.conn.batch("ROLLBACK");
        }
    }
}

impl Pg {
    fn client(&self) -> std::cell::RefMut<'_, postgres::Client> {
        std::cell::RefMut::map(self.client.borrow_mut(), |c| {
            c.as_mut().expect("a connection is open until dropped")
        })
    }

    /// Connects again if the server closed the connection, outside a transaction (one the
    /// server closed is lost: its caller gets the error and tries again). The statement that
    /// met the closed connection failed; the next one runs on a new connection.
    fn reopen_if_closed(&self) -> Result<()> {
        if self.depth.get() > 0 || !self.client().is_closed() {
            return Ok(());
        }
        let fresh = super::pg::client(&self.url)?;
        *self.client.borrow_mut() = Some(fresh);
        self.prepared.borrow_mut().clear();
        let name = self.name.borrow().clone();
        if let Some(name) = name {
            let mut guard = self.client();
            let client: &mut postgres::Client = &mut guard;
            off_runtime(|| {
                client.execute("SELECT set_config('application_name', $1, false)", &[&name])
            })
            .map_err(pg_error)?;
        }
        tracing::info!("reconnected to PostgreSQL");
        Ok(())
    }

    /// Runs `call`, and once more on a new connection when the server had closed this one and
    /// running `sql` again cannot apply anything twice: a read, or the start of a transaction,
    /// outside a transaction.
    fn again_if_closed<T>(&self, sql: &str, call: impl Fn() -> Result<T>) -> Result<T> {
        match call() {
            Err(e)
                if e.sql_kind() == Some(SqlKind::Io)
                    && self.depth.get() == 0
                    && self.client().is_closed()
                    && {
                        let head = sql.trim_start().get(..6).unwrap_or("");
                        head.eq_ignore_ascii_case("select") || head.eq_ignore_ascii_case("begin ")
                    } =>
            {
                call()
            }
            other => other,
        }
    }

    /// The prepared statement for the store's `sql`, prepared on first use.
    fn statement(&self, sql: &str) -> Result<postgres::Statement> {
        self.reopen_if_closed()?;
        if let Some(stmt) = self.prepared.borrow().get(sql) {
            return Ok(stmt.clone());
        }
        let text = dollar_params(sql);
        let stmt = {
            let mut guard = self.client();
            let client: &mut postgres::Client = &mut guard;
            off_runtime(|| client.prepare(&text))
        }
        // A statement PostgreSQL cannot prepare is a bug of ours: say which one.
        .map_err(|e| match pg_error(e) {
            Error::Sql { kind, message } => Error::Sql {
                kind,
                message: format!("{message} (preparing: {})", first_line(sql)),
            },
            other => other,
        })?;
        // The store's statements are a fixed set (the few built with format! vary only in a
        // column list), so the map stays small.
        self.prepared
            .borrow_mut()
            .insert(sql.to_string(), stmt.clone());
        Ok(stmt)
    }
}

/// The blocking client owns a small tokio runtime, which must not be dropped on an async
/// worker thread: a store dropped there (a start-up that failed half-way) lets go of its
/// connection on a thread of its own.
impl Drop for Pg {
    fn drop(&mut self) {
        if let Some(client) = self.client.get_mut().take() {
            let _ = std::thread::Builder::new()
                .name("store-close".into())
                .spawn(move || drop(client));
        }
    }
}

/// Runs a call of the blocking client. The store's threads are no async workers; a caller that
/// is one (a start-up step, a test) gets the call run on a thread of its own, since the client
/// blocks on a runtime of its own, which tokio refuses inside another.
fn off_runtime<T: Send>(call: impl FnOnce() -> T + Send) -> T {
    if tokio::runtime::Handle::try_current().is_err() {
        return call();
    }
    std::thread::scope(|s| match s.spawn(call).join() {
        Ok(value) => value,
        Err(panic) => std::panic::resume_unwind(panic),
    })
}

/// `?1` → `$1`, outside quoted text.
fn dollar_params(sql: &str) -> Cow<'_, str> {
    if !sql.contains('?') {
        return Cow::Borrowed(sql);
    }
    let mut out = String::with_capacity(sql.len());
    let mut quoted: Option<char> = None;
    for c in sql.chars() {
        match quoted {
            Some(q) if c == q => quoted = None,
            Some(_) => {}
            None if c == '\'' || c == '"' => quoted = Some(c),
            None if c == '?' => {
                out.push('$');
                continue;
            }
            None => {}
        }
        out.push(c);
    }
    Cow::Owned(out)
}

fn first_line(sql: &str) -> &str {
    sql.trim().lines().next().unwrap_or("")
}

fn lite_value(value: &Value) -> rusqlite::types::Value {
    use rusqlite::types::Value as V;
    match value {
        Value::Null => V::Null,
        Value::Int(i) => V::Integer(*i),
        Value::Real(f) => V::Real(*f),
        Value::Text(s) => V::Text(s.clone()),
    }
}

fn from_lite(value: rusqlite::types::ValueRef<'_>) -> Value {
    use rusqlite::types::ValueRef as V;
    match value {
        V::Null => Value::Null,
        V::Integer(i) => Value::Int(i),
        V::Real(f) => Value::Real(f),
        V::Text(t) | V::Blob(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
    }
}

fn pg_params(values: &[Value]) -> Vec<&(dyn postgres::types::ToSql + Sync)> {
    values
        .iter()
        .map(|v| v as &(dyn postgres::types::ToSql + Sync))
        .collect()
}

impl postgres::types::ToSql for Value {
    fn to_sql(
        &self,
        ty: &postgres::types::Type,
        out: &mut bytes::BytesMut,
    ) -> std::result::Result<postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>>
    {
        use postgres::types::{IsNull, Type};
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(i) => match *ty {
                Type::INT8 => i.to_sql(ty, out),
                Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*i)?.to_sql(ty, out),
                Type::BOOL => (*i != 0).to_sql(ty, out),
                Type::FLOAT8 => (*i as f64).to_sql(ty, out),
                _ => Err(format!("an integer parameter where the statement takes {ty}").into()),
            },
            Value::Real(f) => match *ty {
                Type::FLOAT8 => f.to_sql(ty, out),
                _ => Err(format!("a real parameter where the statement takes {ty}").into()),
            },
            Value::Text(s) => s.as_str().to_sql(ty, out),
        }
    }

    fn accepts(_: &postgres::types::Type) -> bool {
        // Checked value by value in to_sql: a parameter's Rust type is only known at run time.
        true
    }

    postgres::types::to_sql_checked!();
}

fn from_pg(row: &postgres::Row) -> Result<Vec<Value>> {
    use postgres::types::Type;
    let bad = |e: postgres::Error| Error::Data(format!("a row could not be read: {e}"));
    (0..row.len())
        .map(|i| {
            let ty = row.columns()[i].type_().clone();
            Ok(match ty {
                Type::INT8 => row.try_get::<_, Option<i64>>(i).map_err(bad)?.into_value(),
                Type::INT4 => row
                    .try_get::<_, Option<i32>>(i)
                    .map_err(bad)?
                    .map(i64::from)
                    .into_value(),
                Type::INT2 => row
                    .try_get::<_, Option<i16>>(i)
                    .map_err(bad)?
                    .map(i64::from)
                    .into_value(),
                Type::BOOL => row
                    .try_get::<_, Option<bool>>(i)
                    .map_err(bad)?
                    .map(i64::from)
                    .into_value(),
                Type::FLOAT8 => row
                    .try_get::<_, Option<f64>>(i)
                    .map_err(bad)?
                    .map_or(Value::Null, Value::Real),
                Type::FLOAT4 => row
                    .try_get::<_, Option<f32>>(i)
                    .map_err(bad)?
                    .map_or(Value::Null, |f| Value::Real(f64::from(f))),
                Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => row
                    .try_get::<_, Option<String>>(i)
                    .map_err(bad)?
                    .map_or(Value::Null, Value::Text),
                other => {
                    return Err(Error::Data(format!(
                        "column {i} is of type {other}, which the store does not read (cast it to BIGINT or TEXT)"
                    )));
                }
            })
        })
        .collect()
}

trait IntoValue {
    fn into_value(self) -> Value;
}

impl IntoValue for Option<i64> {
    fn into_value(self) -> Value {
        self.map_or(Value::Null, Value::Int)
    }
}

/// A PostgreSQL error as the store reports it: its kind, and the server's words (a statement
/// error never holds the connection's password).
pub fn pg_error(e: postgres::Error) -> Error {
    use postgres::error::SqlState;
    let kind = match e.code() {
        Some(c)
            if *c == SqlState::T_R_SERIALIZATION_FAILURE
                || *c == SqlState::T_R_DEADLOCK_DETECTED =>
        {
            SqlKind::Conflict
        }
        Some(c) if c.code().starts_with("23") => SqlKind::Constraint,
        Some(c) if *c == SqlState::DISK_FULL || *c == SqlState::OUT_OF_MEMORY => SqlKind::Full,
        Some(c) if *c == SqlState::READ_ONLY_SQL_TRANSACTION => SqlKind::ReadOnly,
        Some(c) if c.code().starts_with("08") || c.code().starts_with("57") => SqlKind::Io,
        Some(_) => SqlKind::Other,
        None if e.is_closed() => SqlKind::Io,
        None => SqlKind::Other,
    };
    let words = match e.as_db_error() {
        Some(db) => db.message().to_string(),
        None => e.to_string(),
    };
    let what = match kind {
        SqlKind::Io => {
            "the connection to PostgreSQL failed; nothing was written — check that the server is up and reachable ([database] url)"
        }
        SqlKind::Full => {
            "PostgreSQL is out of disk or memory; nothing was written — free space on the database server"
        }
        SqlKind::ReadOnly => {
            "the PostgreSQL server takes no writes (a standby?); nothing was written — point [database] url at the primary"
        }
        SqlKind::Conflict => {
            "other replicas kept changing the same rows; nothing was written — try again"
        }
        _ => {
            return Error::Sql {
                kind,
                message: format!("database: {words}"),
            };
        }
    };
    Error::Sql {
        kind,
        message: format!("database: {what} ({words})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_parameters_become_dollars_outside_quotes() {
        assert_eq!(
            dollar_params("SELECT ?1, '?', \"a?\" FROM t WHERE x = ?12"),
            "SELECT $1, '?', \"a?\" FROM t WHERE x = $12"
        );
    }
}
