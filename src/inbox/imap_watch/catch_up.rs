//! Catching up on one mailbox: SELECT, compare UIDVALIDITY, fetch every UID
//! above the last one processed in batches bounded by count and bytes, and
//! record each batch together with its last UID in one transaction.

use super::*;

impl<P: Pipeline> Watcher<P> {
    /// Selects `folder` and records every mail above its last processed UID.
    pub(super) async fn catch_up(
        &mut self,
        session: &mut Session,
        folder: Folder,
    ) -> Result<(), WatchError> {
        let host = self.settings.server.host.clone();
        let name = match folder {
            Folder::Inbox => self.settings.mailbox.clone(),
            Folder::Sent => self.settings.sent_mailbox.clone(),
        };
        let mailbox = match folder {
            Folder::Inbox => timed(&host, session.select(&name)).await?,
            Folder::Sent => timed(&host, session.examine(&name)).await?,
        };
        let validity = mailbox.uid_validity.unwrap_or(0);
        let account = self.account(folder);
        let state = self.store.watcher_state(&account)?;
        let mut last = state.last_uid.unwrap_or(0);
        if state.uid_validity != Some(validity) {
            last = match (folder, state.uid_validity) {
                // The owner's sent mail from before Handoff is not replies.
                (Folder::Sent, None) => mailbox.uid_next.unwrap_or(1).saturating_sub(1),
                (_, None) => 0,
                (_, Some(old)) => {
                    tracing::warn!(mailbox = %name, old, new = validity,
                        "UIDVALIDITY changed: re-reading the mailbox; mail seen before is matched by Message-ID");
                    0
                }
            };
            let now = self.clock.now();
            self.store.set_watcher_state(
                &account,
                &WatcherState {
                    uid_validity: Some(validity),
                    last_uid: Some(last),
                    last_contact_at: Some(now),
                    last_error: None,
                },
            )?;
        }
        if mailbox.exists == 0 {
            return Ok(());
        }
        // New UIDs and their sizes, so a batch's memory is bounded and an
        // oversized mail is never downloaded whole.
        let mut sizes: Vec<(u32, u64)> = {
            let stream = timed(
                &host,
                session.uid_fetch(format!("{}:*", last.saturating_add(1)), "(UID RFC822.SIZE)"),
            )
            .await?;
            timed(&host, async {
                stream
                    .try_filter_map(|f| async move {
                        Ok(f.uid.map(|u| (u, u64::from(f.size.unwrap_or(0)))))
                    })
                    .try_collect::<Vec<_>>()
                    .await
                    .map_err(ImapError::from)
            })
            .await?
        };
        // "n:*" always includes the highest UID, even below n.
        sizes.retain(|(uid, _)| *uid > last);
        sizes.sort_unstable();
        let mut start = 0;
        while start < sizes.len() {
            let mut end = start;
            let mut bytes = 0u64;
            while end < sizes.len()
                && end - start < BATCH
                && (end == start || bytes + sizes[end].1 <= BATCH_BYTES)
            {
                bytes += sizes[end].1.min(crate::inbox::parse::MAX_MAIL_BYTES as u64);
                end += 1;
            }
            let chunk = &sizes[start..end];
            start = end;
            self.record_chunk(session, folder, &account, validity, chunk)
                .await?;
        }
        Ok(())
    }

    async fn record_chunk(
        &mut self,
        session: &mut Session,
        folder: Folder,
        account: &str,
        validity: u32,
        chunk: &[(u32, u64)],
    ) -> Result<(), WatchError> {
        let host = self.settings.server.host.clone();
        let limit = crate::inbox::parse::MAX_MAIL_BYTES as u64;
        let whole: Vec<String> = chunk
            .iter()
            .filter(|(_, size)| *size <= limit)
            .map(|(uid, _)| uid.to_string())
            .collect();
        let oversized: Vec<String> = chunk
            .iter()
            .filter(|(_, size)| *size > limit)
            .map(|(uid, _)| uid.to_string())
            .collect();
        let mut mails: Vec<(u32, Vec<u8>)> = Vec::with_capacity(chunk.len());
        for (set, query) in [
            (whole, "(UID BODY.PEEK[])"),
            (oversized, "(UID BODY.PEEK[HEADER])"),
        ] {
            if set.is_empty() {
                continue;
            }
            let fetched: Vec<(u32, Vec<u8>)> = timed(&host, async {
                let stream = session.uid_fetch(set.join(","), query).await?;
                stream
                    .try_filter_map(|f| async move {
                        let body = f.body().or_else(|| f.header()).map(<[u8]>::to_vec);
                        Ok(f.uid.zip(body))
                    })
                    .try_collect::<Vec<_>>()
                    .await
                    .map_err(ImapError::from)
            })
            .await?;
            mails.extend(fetched);
        }
        mails.sort_unstable_by_key(|(uid, _)| *uid);
        let Some(max_uid) = chunk.iter().map(|(uid, _)| *uid).max() else {
            return Ok(());
        };
        let batch: Vec<(Source, Vec<u8>)> = mails
            .into_iter()
            .map(|(uid, raw)| {
                (
                    Source {
                        account: account.to_string(),
                        uid_validity: validity,
                        uid,
                        // An oversized mail arrives as its header only.
                        truncated: chunk.iter().any(|(u, s)| *u == uid && *s > limit),
                    },
                    raw,
                )
            })
            .collect();
        let now = self.clock.now();
        let pipeline = &mut self.pipeline;
        let outcomes = self.store.batch(|store| -> Result<_, WatchError> {
            let outcomes = pipeline.ingest(store, folder, &batch, now)?;
            store.transaction(|tx| {
                tx.set_watcher_state(
                    account,
                    &WatcherState {
                        uid_validity: Some(validity),
                        last_uid: Some(max_uid),
                        last_contact_at: Some(now),
                        last_error: None,
                    },
                )
            })?;
            Ok(outcomes)
        })?;
        tracing::info!(mailbox = ?folder, count = outcomes.len(), last_uid = max_uid, "recorded new mail");
        self.emit(WatchEvent::Recorded {
            folder,
            outcomes,
            at: Instant::now(),
        });
        if let Some(wake) = &self.wake {
            wake.notify_one();
        }
        Ok(())
    }
}
