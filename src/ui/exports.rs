//! The exports page: the compliance bundle for auditors, and how to verify it offline.

use crate::ui::CsrfField;
use crate::ui::components::PageHeader;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn ExportsPage() -> impl IntoView {
    view! {
        <Title text="Exports"/>
        <PageHeader title="Compliance exports" subtitle="Evidence an auditor can check without trusting this server."/>
        <section class="card">
            <h2>"Export bundle"</h2>
            <p>"One zip file as of one moment: identities, credential metadata, roles with every version, assignments (pinned version, approving request and its approvers), change requests with their decisions, separation-of-duty rules and exceptions, the hygiene findings and the audit log — each as CSV (RFC 4180, formula-safe) and JSON (NDJSON for the large tables) — and "<code>"manifest.json"</code>" with every file's SHA-256 and row count, the export time and the audit chain head."</p>
            <form method="post" action="/downloads/export.zip" id="export-form">
                <CsrfField/>
                <button type="submit" class="button primary" id="download-export">"Download export (.zip)"</button>
            </form>
            <p class="muted small">"Only auditors and admins export. Each export is itself recorded in the audit log."</p>
        </section>
        <section class="card">
            <h2>"Verify a bundle offline"</h2>
            <p>"Anyone with the nhidb binary — no server, no database — checks every file against the manifest and replays the audit hash chain:"</p>
            <pre class="event-json">"nhidb export verify nhidb-export.zip\nok (18 files, 1234 audit events verified)"</pre>
            <p>"A changed byte names the file; a removed or altered audit event names its sequence number. Large ledgers export from the command line with progress bars: "<code>"nhidb export --out evidence.zip"</code>"."</p>
        </section>
    }
}
