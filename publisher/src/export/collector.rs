//! Reading a dataset from the store a month at a time: the stations and the window, each
//! month's series merged by time into its CSV in the spool, and what the other files need.

use super::*;

/// Collects a dataset from the store at `now_ms` with the policy applied, a month at a time:
/// [`Collector::begin`] works out the stations and the window, [`Collector::next_month`]
/// reads and aggregates one month into its CSV, [`Collector::finish`] gives what the other
/// files and the metadata need.
pub struct Collector {
    collected: Collected,
    /// The published stations as the registry has them, with their published ids.
    registry: Vec<(String, Arc<str>)>,
    quantities: Vec<(String, Arc<str>, Arc<str>)>,
    resolution: Resolution,
    columns: Vec<&'static str>,
    k: f64,
    latest_from: i64,
    /// The next month to read.
    month_from: i64,
    /// That month's read, started while the month before was being written.
    reading: Option<Reading>,
    dataset_name: String,
}

/// A month's CSV goes to its file in pieces of about this many bytes.
const SPILL_BYTES: usize = 1 << 20;

/// A month being read from the store: its window and the answers to come.
struct Reading {
    from: i64,
    until: i64,
    answers: tokio::task::JoinHandle<Result<Vec<Vec<Bucket>>, StoreError>>,
}

impl Drop for Reading {
    /// A publication that stopped (a month failed its check, the caller gave up) reads no
    /// further month.
    fn drop(&mut self) {
        self.answers.abort();
    }
}

impl Collector {
    pub async fn begin(
        store: &Store,
        dataset: &DatasetConfig,
        privacy: &PrivacyConfig,
        now_ms: i64,
    ) -> Result<Collector, PublishError> {
        let resolution = dataset.interval;
        let delay = dataset.privacy.delay.as_ms_i64();
        let cutoff_ms = match resolution.step_ms() {
            Some(step) => (now_ms - delay).div_euclid(step) * step,
            None => now_ms - delay,
        };
        let since_ms = match &dataset.since {
            Some(day) => parse_day(day)
                .ok_or_else(|| PublishError::Config(format!("{}: bad since", dataset.name)))?,
            None => month_start(cutoff_ms, -12),
        };
        let key = match dataset.privacy.station_ids {
            StationIds::Public => None,
            StationIds::Hmac => Some(
                std::env::var(&dataset.privacy.hmac_key_env)
                    .map_err(|_| {
                        PublishError::Config(format!(
                            "{}: the pseudonym key `{}` is not set",
                            dataset.name, dataset.privacy.hmac_key_env
                        ))
                    })?
                    .into_bytes(),
            ),
        };
        let published_id = |id: &str| match &key {
            Some(key) => pseudonym(key, id),
            None => id.to_owned(),
        };
        let coordinates = Coordinates::resolve(&dataset.privacy, privacy);
        let registry: Vec<_> = store
            .state()
            .stations()
            .await?
            .into_iter()
            .filter(|s| s.public && dataset.publishes_station(&s.id))
            .collect();
        let stations: Vec<PublicStation> = registry
            .iter()
            .filter_map(|s| {
                let (lat, lon) = coordinates.apply(s.lat?, s.lon?);
                let name = s.info.name.trim();
                Some(PublicStation {
                    id: published_id(&s.id),
                    name: (key.is_none() && !name.is_empty()).then(|| name.to_owned()),
                    lat,
                    lon,
                })
            })
            .collect();
        // Each published id (an HMAC in pseudonym mode) is worked out once, not once a row.
        let registry: Vec<(String, Arc<str>)> = registry
            .into_iter()
            .map(|s| {
                let id = Arc::from(published_id(&s.id));
                (s.id, id)
            })
            .collect();
        let mut quantities: Vec<(String, Arc<str>, Arc<str>)> = dataset
            .quantities
            .iter()
            .map(|q| {
                let unit = sensorhub_core::Quantity::by_name(q).map_or("", |q| q.unit);
                (q.clone(), Arc::from(q.as_str()), Arc::from(unit))
            })
            .collect();
        // Read in the order the files list them (station, then quantity), so that a month's
        // rows need only a stable sort by time.
        let mut registry = registry;
        registry.sort_by(|a, b| a.1.cmp(&b.1));
        quantities.sort_by(|a, b| a.1.cmp(&b.1));
        let mut station_ids: Vec<String> = registry.iter().map(|(_, id)| id.to_string()).collect();
        station_ids.sort();
        Ok(Collector {
            collected: Collected {
                months: Vec::new(),
                latest: Vec::new(),
                stations,
                station_ids,
                cutoff_ms,
                since_ms,
                first_ms: None,
                last_ms: None,
                coordinates,
            },
            registry,
            quantities,
            resolution,
            columns: columns(dataset),
            k: f64::from(dataset.privacy.k),
            latest_from: cutoff_ms - i64::from(dataset.latest_days) * 86_400_000,
            month_from: since_ms,
            reading: None,
            dataset_name: dataset.name.clone(),
        })
    }

    /// What is known before the months are read: the stations, the window, the coordinates.
    pub fn collected(&self) -> &Collected {
        &self.collected
    }

    /// The next month that has rows, as its label and CSV; `None` after the last.
    pub async fn next_month(
        &mut self,
        store: &Store,
        spool: &Spool,
    ) -> Result<Option<(String, Unchecked)>, PublishError> {
        loop {
            let Some(mut reading) = self.reading.take().or_else(|| self.read_next(store)) else {
                return Ok(None);
            };
            // The store reads the month after while this one is turned into text.
            self.reading = self.read_next(store);
            let answers = (&mut reading.answers)
                .await
                .map_err(|e| StoreError::Worker(e.to_string()))??;
            let label = month_label(reading.from);
            let name = month_file_name(&self.dataset_name, &label);
            if let Some(csv) = self.month_csv(reading.from, reading.until, answers, spool, &name)? {
                return Ok(Some((label, csv)));
            }
        }
    }

    /// Starts reading the next month of every series; `None` past the cut-off.
    fn read_next(&mut self, store: &Store) -> Option<Reading> {
        let from = self.month_from;
        if from >= self.collected.cutoff_ms {
            return None;
        }
        let until = month_start(from, 1).min(self.collected.cutoff_ms);
        self.month_from = month_start(from, 1);
        let mut queries = Vec::with_capacity(self.registry.len() * self.quantities.len());
        for (station, _) in &self.registry {
            for (quantity, ..) in &self.quantities {
                queries.push(RangeQuery {
                    station: station.clone(),
                    quantity: quantity.clone(),
                    since_ms: from,
                    until_ms: until,
                    resolution: self.resolution,
                });
            }
        }
        let store = store.clone();
        Some(Reading {
            from,
            until,
            answers: tokio::spawn(async move { store.ranges(queries).await }),
        })
    }

    /// The CSV of one month from its series' buckets (in registry order, each oldest first),
    /// written into the spool as `name`, or `None` when it has no rows.
    fn month_csv(
        &mut self,
        from: i64,
        until: i64,
        answers: Vec<Vec<Bucket>>,
        spool: &Spool,
        name: &str,
    ) -> Result<Option<Unchecked>, PublishError> {
        let k = self.k;
        let per_quantity = self.quantities.len().max(1);
        // Each series' intervals under the policy: the station's index, the quantity's, cells.
        let series: Vec<(usize, usize, Vec<Cells>)> = answers
            .into_iter()
            .enumerate()
            .map(|(i, buckets)| {
                let (s, q) = (i / per_quantity, i % per_quantity);
                let people = sensorhub_policy::is_people_count(&self.quantities[q].0);
                let suppress = |v: f64| -> Option<f64> {
                    let small = people && v > 0.0 && v < k;
                    (!small).then_some(v)
                };
                let cells = buckets
                    .into_iter()
                    .filter(|b| b.start_ms >= from && b.start_ms < until)
                    .map(|b| Cells {
                        time_ms: b.start_ms,
                        mean: suppress(round(b.mean)),
                        min: suppress(b.min),
                        max: suppress(b.max),
                        count: b.count,
                        sum: suppress(round(b.sum)),
                    })
                    .collect();
                (s, q, cells)
            })
            .collect();
        let total: usize = series.iter().map(|(.., cells)| cells.len()).sum();
        if total == 0 {
            return Ok(None);
        }
        let mut out = spool.create(name)?;
        // The series merged by time; among rows of one time, in series order (station, then
        // quantity), as the files have always listed them.
        let mut heap: BinaryHeap<Reverse<(i64, usize)>> = series
            .iter()
            .enumerate()
            .filter_map(|(i, (.., cells))| Some(Reverse((cells.first()?.time_ms, i))))
            .collect();
        let mut next = vec![0usize; series.len()];
        let mut writer = RowWriter::new(&self.columns, SPILL_BYTES + 4096);
        let c = &mut self.collected;
        while let Some(Reverse((time_ms, i))) = heap.pop() {
            let (s, q, cells) = &series[i];
            let cell = cells[next[i]];
            next[i] += 1;
            if let Some(after) = cells.get(next[i]) {
                heap.push(Reverse((after.time_ms, i)));
            }
            let station = &self.registry[*s].1;
            let (_, quantity, unit) = &self.quantities[*q];
            writer.row([station, quantity, unit], &cell);
            if writer.csv.len() >= SPILL_BYTES {
                writer.csv.flush(|bytes| out.write(bytes))?;
            }
            c.first_ms = Some(c.first_ms.map_or(time_ms, |f| f.min(time_ms)));
            c.last_ms = Some(c.last_ms.map_or(time_ms, |l| l.max(time_ms)));
            if time_ms >= self.latest_from {
                c.latest.push(Row::new(station, quantity, unit, cell));
            }
        }
        c.months.push(Month {
            label: month_label(from),
            rows: total,
        });
        writer.csv.flush(|bytes| out.write(bytes))?;
        Ok(Some(out))
    }

    /// Everything collected, once [`Collector::next_month`] said there is no more.
    pub fn finish(self) -> Collected {
        self.collected
    }
}
