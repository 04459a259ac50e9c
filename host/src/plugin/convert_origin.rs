//! Conversions between the `origin` records of `hoard:definition@0.2.0` and
//! the host's `origin::mapping` types.

use super::bindings::v2::origin as wit;
use crate::origin::mapping::{HttpMethod, Loaded, OriginRequest, OriginResponse, SqlValue};

fn sql_value_from(v: wit::SqlValue) -> SqlValue {
    match v {
        wit::SqlValue::Null => SqlValue::Null,
        wit::SqlValue::Boolean(b) => SqlValue::Bool(b),
        wit::SqlValue::Integer(i) => SqlValue::Int(i),
        wit::SqlValue::Float(f) => SqlValue::Float(f),
        wit::SqlValue::Text(s) => SqlValue::Text(s),
        wit::SqlValue::Bytes(b) => SqlValue::Bytes(b),
    }
}

fn sql_value_to(v: &SqlValue) -> wit::SqlValue {
    match v {
        SqlValue::Null => wit::SqlValue::Null,
        SqlValue::Bool(b) => wit::SqlValue::Boolean(*b),
        SqlValue::Int(i) => wit::SqlValue::Integer(*i),
        SqlValue::Float(f) => wit::SqlValue::Float(*f),
        SqlValue::Text(s) => wit::SqlValue::Text(s.clone()),
        SqlValue::Bytes(b) => wit::SqlValue::Bytes(b.clone()),
    }
}

pub(crate) fn request_from(r: wit::Request) -> OriginRequest {
    match r {
        wit::Request::Sql(call) => OriginRequest::Sql {
            statement: call.statement,
            params: call.params.into_iter().map(sql_value_from).collect(),
        },
        wit::Request::Http(call) => OriginRequest::Http {
            method: match call.method {
                wit::HttpMethod::Get => HttpMethod::Get,
                wit::HttpMethod::Put => HttpMethod::Put,
                wit::HttpMethod::Post => HttpMethod::Post,
                wit::HttpMethod::Delete => HttpMethod::Delete,
                wit::HttpMethod::Patch => HttpMethod::Patch,
            },
            path: call.path,
            headers: call.headers,
            body: call.body,
        },
    }
}

pub(crate) fn response_to(r: &OriginResponse) -> wit::Response {
    match r {
        OriginResponse::Sql {
            columns,
            rows,
            affected,
        } => wit::Response::Sql(wit::SqlRows {
            columns: columns.clone(),
            rows: rows
                .iter()
                .map(|row| row.iter().map(sql_value_to).collect())
                .collect(),
            affected: *affected,
        }),
        OriginResponse::Http {
            status,
            headers,
            body,
        } => wit::Response::Http(wit::HttpResponse {
            status: *status,
            headers: headers.clone(),
            body: body.clone(),
        }),
    }
}

pub(crate) fn loaded_from(l: wit::Loaded) -> Loaded {
    match l {
        wit::Loaded::Value(v) => Loaded::Value(v),
        wit::Loaded::NotFound => Loaded::NotFound,
    }
}

pub(crate) fn kind(sql: bool) -> wit::OriginKind {
    if sql {
        wit::OriginKind::Sql
    } else {
        wit::OriginKind::Http
    }
}
