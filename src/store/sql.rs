//! A small SQL builder for lists whose filters are optional, and for multi-row statements.
//! sqlx's `QueryBuilder` writes `?` placeholders for the `Any` driver, which PostgreSQL rejects;
//! this writes `$n` for PostgreSQL and `?` for SQLite (see `into_parts`).

use sqlx::any::AnyArguments;
use sqlx::{Any, Arguments, Encode, Type};

#[derive(Default)]
pub struct Sql {
    text: String,
    args: AnyArguments<'static>,
    count: usize,
    /// Where each placeholder is in `text`, in bind order.
    marks: Vec<std::ops::Range<usize>>,
}

impl Sql {
    pub fn new(text: &str) -> Self {
        debug_assert!(!has_placeholder(text), "placeholders are written by `bind`: {text}");
        Sql { text: text.to_owned(), ..Default::default() }
    }

    pub fn push(&mut self, text: &str) -> &mut Self {
        debug_assert!(!has_placeholder(text), "placeholders are written by `bind`: {text}");
        self.text.push_str(text);
        self
    }

    /// Appends a `$n` placeholder bound to `value`.
    pub fn bind<T>(&mut self, value: T) -> &mut Self
    where
        T: Encode<'static, Any> + Type<Any> + Send + 'static,
    {
        self.count += 1;
        let start = self.text.len();
        self.text.push_str(&format!("${}", self.count));
        self.marks.push(start..self.text.len());
        // Encoding into the Any buffer only copies the value; it cannot fail for our types.
        let _ = self.args.add(value);
        self
    }

    /// Appends `($1, $2, …)` bound to `values`, for `in` lists (never empty: `in ()` is not SQL).
    pub fn bind_list(&mut self, values: &[String]) -> &mut Self {
        self.push("(");
        for (i, value) in values.iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.bind(value.clone());
        }
        self.push(")")
    }

    /// Appends `(select column1 from (values ($1), ($2), …) as listed)` bound to `values`, for
    /// `in` lists on indexed columns (never empty). A plain `in ($1, $2)` there has SQLite (with
    /// STAT4 statistics, after `analyze`) estimate each bound value while planning, and then
    /// re-plan the cached statement at every execution: that cost a change's settling more than
    /// running its statements. Read from `values`, the list is rows to the planner, not values.
    pub fn bind_rows(&mut self, values: &[String]) -> &mut Self {
        self.push("(select column1 from (values ");
        for (i, value) in values.iter().enumerate() {
            self.push(if i == 0 { "(" } else { ", (" }).bind(value.clone()).push(")");
        }
        self.push(") as listed)")
    }

    /// Appends the condition that `column` (an identity id) is one of `of`.
    pub fn identities(&mut self, column: &str, of: Identities<'_>) -> &mut Self {
        match of {
            Identities::Listed(ids) => self.push(&format!("{column} in ")).bind_rows(ids),
            Identities::Range { after, last } => {
                self.push(&format!("{column} > ")).bind(after.to_owned()).push(&format!(" and {column} <= ")).bind(last.to_owned())
            }
            Identities::Between { first, last } => {
                self.push(&format!("{column} >= ")).bind(first.to_owned()).push(&format!(" and {column} <= ")).bind(last.to_owned())
            }
        }
    }

    /// The statement for `conn`'s backend, and its arguments. SQLite gets anonymous `?`
    /// placeholders (in bind order, as written): to SQLite `$n` is a *named* parameter, and sqlx
    /// looks up every parameter's name when it binds, a linear scan of the statement's names.
    /// A statement of n placeholders then costs n² — a multi-row insert of 5,600 values spent
    /// half of a large import's time there.
    pub fn into_parts(self, conn: &sqlx::AnyConnection) -> (String, AnyArguments<'static>) {
        if super::is_postgres(conn) {
            return (self.text, self.args);
        }
        (self.sqlite_text(), self.args)
    }

    /// The text with each placeholder written as `?`.
    fn sqlite_text(&self) -> String {
        let mut text = String::with_capacity(self.text.len());
        let mut copied = 0;
        for mark in &self.marks {
            text.push_str(&self.text[copied..mark.start]);
            text.push('?');
            copied = mark.end;
        }
        text.push_str(&self.text[copied..]);
        text
    }
}

/// Whether `text` holds a `$n` placeholder (which only `bind` may write, so that the SQLite
/// form of a statement can replace them all).
fn has_placeholder(text: &str) -> bool {
    text.as_bytes().windows(2).any(|w| w[0] == b'$' && w[1].is_ascii_digit())
}

/// Which identities a statement concerns: those a change touched, listed, or every identity in an
/// id range (a rebuild's batch). A range reads each table by index between two bound ids, in
/// one ordered pass; the same batch as a plain `in` list of thousands of bound ids cost SQLite a
/// fresh plan per execution (STAT4 estimates every listed value; see `bind_rows`), which made
/// rebuilds three times slower.
#[derive(Debug, Clone, Copy)]
pub enum Identities<'a> {
    Listed(&'a [String]),
    /// Ids greater than `after`, up to and including `last`.
    Range {
        after: &'a str,
        last: &'a str,
    },
    /// Ids from `first` to `last`, both included: a run of ids a change touched that few other
    /// identities' ids fall between (an import's new identities), read like a rebuild's batch.
    Between {
        first: &'a str,
        last: &'a str,
    },
}

impl Identities<'_> {
    pub fn is_empty(&self) -> bool {
        matches!(self, Identities::Listed(ids) if ids.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::Sql;

    #[test]
    fn sqlite_gets_anonymous_placeholders_in_bind_order() {
        let mut sql = Sql::new("select a from t where b = ");
        sql.bind("x".to_owned()).push(" and c in ").bind_rows(&["1".to_owned(), "2".to_owned()]).push(" and d = '$'");
        for n in 0..12 {
            sql.push(" or e = ").bind(n as i64);
        }
        assert!(sql.text.contains("$1") && sql.text.contains("$15"), "{}", sql.text);
        let text = sql.sqlite_text();
        assert_eq!(text.matches('?').count(), 15, "{text}");
        assert!(text.starts_with("select a from t where b = ? and c in (select column1 from (values (?), (?)) as listed) and d = '$' or e = ?"), "{text}");
        assert!(!text.contains("$1"), "{text}");
    }
}
