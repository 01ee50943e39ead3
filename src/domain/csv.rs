//! CSV as RFC 4180 says (CRLF line ends; fields with commas, quotes or line breaks quoted, quotes
//! doubled), safe to open in a spreadsheet: a cell starting with `=`, `+`, `-`, `@`, a tab or a
//! carriage return would be read as a formula, so it is prefixed with `'` (OWASP's advice). Cells
//! holding `;` or a tab are quoted too: spreadsheets in locales that split on `;` (or on tabs)
//! would otherwise start a new cell there, and that cell could start with `=`. Every other value
//! reads back exactly.

use std::io::{self, Write};

/// Whether a spreadsheet would evaluate this cell.
fn is_formula(value: &str) -> bool {
    value.starts_with(['=', '+', '-', '@', '\t', '\r'])
}

/// Whether a cell must be quoted: RFC 4180's separators, and those of other spreadsheet locales.
fn needs_quotes(value: &str) -> bool {
    value.contains([',', '"', '\r', '\n', ';', '\t'])
}

/// One cell, neutralised and quoted as needed.
pub fn cell(value: &str) -> String {
    let value = if is_formula(value) { format!("'{value}") } else { value.to_owned() };
    if needs_quotes(&value) { format!("\"{}\"", value.replace('"', "\"\"")) } else { value }
}

/// Writes rows to any sink, counting them; the header is written first.
pub struct Writer<W: Write> {
    out: W,
    rows: u64,
    error: Option<io::Error>,
}

impl Writer<Vec<u8>> {
    /// An in-memory CSV (for small downloads).
    pub fn new(header: &[&str]) -> Self {
        Self::to(Vec::new(), header)
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.out
    }
}

impl<W: Write> Writer<W> {
    pub fn to(out: W, header: &[&str]) -> Self {
        let mut writer = Writer { out, rows: 0, error: None };
        writer.line(header);
        writer
    }

    /// A writer continuing a CSV whose header was already written (a streamed download).
    pub fn continuing(out: W) -> Self {
        Writer { out, rows: 0, error: None }
    }

    fn line(&mut self, cells: &[&str]) {
        if self.error.is_some() {
            return;
        }
        let line = cells.iter().map(|c| cell(c)).collect::<Vec<_>>().join(",") + "\r\n";
        if let Err(e) = self.out.write_all(line.as_bytes()) {
            self.error = Some(e);
        }
    }

    pub fn row(&mut self, cells: &[&str]) {
        self.line(cells);
        self.rows += 1;
    }

    /// Writes a row straight from borrowed cells, allocating only for cells that need quoting
    /// or neutralising (large exports write millions of rows).
    pub fn row_from<'a>(&mut self, cells: impl Iterator<Item = &'a str>) {
        if self.error.is_some() {
            return;
        }
        let mut result = Ok(());
        for (i, value) in cells.enumerate() {
            if i > 0 {
                result = result.and_then(|()| self.out.write_all(b","));
            }
            let plain = !is_formula(value) && !needs_quotes(value);
            result = result.and_then(|()| if plain { self.out.write_all(value.as_bytes()) } else { self.out.write_all(cell(value).as_bytes()) });
        }
        result = result.and_then(|()| self.out.write_all(b"\r\n"));
        match result {
            Ok(()) => self.rows += 1,
            Err(e) => self.error = Some(e),
        }
    }

    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// The sink back, or the first write error.
    pub fn finish(mut self) -> io::Result<W> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.out.flush()?;
        Ok(self.out)
    }
}

/// Parses CSV written by `Writer` (RFC 4180) back into rows, header included.
pub fn parse(text: &str) -> Result<Vec<Vec<String>>, String> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    let mut at_field_start = true;
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                c => field.push(c),
            }
            continue;
        }
        match c {
            '"' if at_field_start => {
                quoted = true;
                at_field_start = false;
            }
            ',' => {
                row.push(std::mem::take(&mut field));
                at_field_start = true;
            }
            '\r' if chars.peek() == Some(&'\n') => {
                chars.next();
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
                at_field_start = true;
            }
            '"' => return Err(format!("a quote inside an unquoted field in row {}", rows.len() + 1)),
            c => {
                field.push(c);
                at_field_start = false;
            }
        }
    }
    if quoted {
        return Err("the file ends inside a quoted field".to_owned());
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_formula_is_neutralised() {
        assert_eq!(cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        for start in ["+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            assert!(cell(start).trim_start_matches('"').starts_with('\''), "{start:?}");
        }
    }

    #[test]
    fn cells_with_other_locales_separators_are_quoted() {
        // Split on `;`, the unquoted `a;=cmd()` would become a cell `=cmd()`.
        assert_eq!(cell("a;=cmd()"), "\"a;=cmd()\"");
        assert_eq!(cell("a\t=cmd()"), "\"a\t=cmd()\"");
        let mut writer = Writer::new(&["x"]);
        writer.row_from(["b;@SUM(A1)"].into_iter());
        assert_eq!(String::from_utf8(writer.into_bytes()).unwrap(), "x\r\n\"b;@SUM(A1)\"\r\n");
    }

    #[test]
    fn every_other_value_round_trips_exactly() {
        let values = [
            "plain",
            "with, comma",
            "semi;colon",
            "tab\tinside",
            "with \"quotes\"",
            "two\r\nlines",
            "line\nfeed",
            "",
            " spaced ",
            "ünïcödé ✓",
            "'already quoted",
            "a=b",
            "x-y",
        ];
        let mut writer = Writer::new(&["value", "again"]);
        for v in values {
            writer.row(&[v, v]);
        }
        let text = String::from_utf8(writer.into_bytes()).unwrap();
        let rows = parse(&text).unwrap();
        assert_eq!(rows[0], ["value", "again"]);
        for (row, v) in rows[1..].iter().zip(values) {
            assert_eq!(row, &[v.to_owned(), v.to_owned()]);
        }
    }

    #[test]
    fn rows_from_borrowed_cells_read_the_same() {
        let values = ["a,b", "=1+1", "plain", "q\"uote"];
        let mut by_row = Writer::new(&["x"]);
        by_row.row(&values);
        let mut by_ref = Writer::new(&["x"]);
        by_ref.row_from(values.iter().copied());
        assert_eq!(by_row.into_bytes(), by_ref.into_bytes());
    }

    #[test]
    fn lines_end_with_crlf() {
        let mut writer = Writer::new(&["a", "b"]);
        writer.row(&["1", "2"]);
        assert_eq!(String::from_utf8(writer.into_bytes()).unwrap(), "a,b\r\n1,2\r\n");
    }
}
