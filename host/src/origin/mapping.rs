//! The host's side of the `origin` mapping of `hoard:definition@0.2.0`:
//! what a plugin may ask an origin, and what an origin answers. Plain data,
//! so the executors (`postgres.rs`, `http.rs`) never see wasmtime types.

/// A value crossing to or from SQL.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum SqlValue {
    /// SQL `NULL`.
    Null,
    /// `boolean`.
    Bool(bool),
    /// Any integer type.
    Int(i64),
    /// `real` / `double precision` / `numeric`.
    Float(f64),
    /// Text types, and anything the host renders as text.
    Text(String),
    /// `bytea`.
    Bytes(Vec<u8>),
}

/// The HTTP methods a mapping may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum HttpMethod {
    /// GET
    Get,
    /// PUT
    Put,
    /// POST
    Post,
    /// DELETE
    Delete,
    /// PATCH
    Patch,
}

impl HttpMethod {
    /// The method's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Put => "PUT",
            HttpMethod::Post => "POST",
            HttpMethod::Delete => "DELETE",
            HttpMethod::Patch => "PATCH",
        }
    }
}

/// What a plugin asks the host to run against its origin. Serializable:
/// a write-behind write is kept on disk as its request.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum OriginRequest {
    /// A statement the operator declared, by name, with parameters.
    Sql {
        /// The declared statement's name.
        statement: String,
        /// Its parameters, `$1` first.
        params: Vec<SqlValue>,
    },
    /// A request under the origin's base URL.
    Http {
        /// The method.
        method: HttpMethod,
        /// Relative to the base; checked to stay under it.
        path: String,
        /// Extra headers.
        headers: Vec<(String, String)>,
        /// The body (empty for none).
        body: Vec<u8>,
    },
}

impl OriginRequest {
    /// `sql` or `http`, for errors and traces.
    pub fn kind(&self) -> &'static str {
        match self {
            OriginRequest::Sql { .. } => "sql",
            OriginRequest::Http { .. } => "http",
        }
    }
}

/// What the origin answered.
#[derive(Clone, Debug, PartialEq)]
pub enum OriginResponse {
    /// Rows of a statement (none for a write).
    Sql {
        /// Column names.
        columns: Vec<String>,
        /// The rows, each as long as `columns`.
        rows: Vec<Vec<SqlValue>>,
        /// Rows a write changed.
        affected: u64,
    },
    /// An HTTP response.
    Http {
        /// Status code.
        status: u16,
        /// Response headers.
        headers: Vec<(String, String)>,
        /// The body.
        body: Vec<u8>,
    },
}

/// What a response means, according to the plugin.
#[derive(Clone, Debug, PartialEq)]
pub enum Loaded {
    /// The entry's value, MessagePack (not yet validated).
    Value(Vec<u8>),
    /// The origin has no such entry.
    NotFound,
}
