//! The history page's figures and charts, drawn as inline SVG by this module: releases per
//! week (stacked completed, failed, rejected, rolled back), mean duration per week (a line) and
//! downtime per week (bars). No chart library: a few rectangles, a polyline and labels.

use crate::format;
use leptos::prelude::*;
use switchyard_api::{HistoryStats, WeekStats};

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 180.0;
/// Room on the left for the y-axis label and below for week labels.
const LEFT: f64 = 44.0;
const BOTTOM: f64 = 22.0;
const TOP: f64 = 10.0;

#[component]
pub fn HistoryCharts(stats: HistoryStats) -> impl IntoView {
    let weeks = stats.weeks.clone();
    view! {
        <section class="figures" id="history-figures">
            <Figure id="figure-total" label="Releases" value=stats.all.total.to_string() />
            <Figure id="figure-completed" label="Completed" value=stats.all.completed.to_string() />
            <Figure id="figure-failed" label="Failed" value=stats.all.failed.to_string() />
            <Figure id="figure-rejected" label="Rejected" value=stats.all.rejected.to_string() />
            <Figure id="figure-rolled-back" label="Rolled back" value=stats.all.rolled_back.to_string() />
            <Figure id="figure-running" label="Running" value=stats.all.running.to_string() />
            <Figure id="figure-failure-rate" label="Production failure rate" value=format::percent(stats.failure_rate) />
            <Figure id="figure-rollback-rate" label="Production rollback rate" value=format::percent(stats.rollback_rate) />
        </section>
        <p class="figures-note" id="figures-runs">
            {format!(
                "{} production {} and {} {}: the rates count production runs only; a rehearsal is where failing is cheap.",
                stats.production.total,
                if stats.production.total == 1 { "run" } else { "runs" },
                stats.rehearsals.total,
                if stats.rehearsals.total == 1 { "rehearsal" } else { "rehearsals" },
            )}
        </p>
        {if weeks.is_empty() {
            view! { <p class="empty" id="charts-empty">"No finished releases in this range, so nothing to chart yet."</p> }.into_any()
        } else {
            let weeks_for_bars = weeks.clone();
            let durations = weeks.iter().map(|w| (w.week.clone(), w.mean_duration_s)).collect::<Vec<_>>();
            let downtimes = weeks.iter().map(|w| (w.week.clone(), w.downtime_s)).collect::<Vec<_>>();
            view! {
                <div class="charts" id="history-charts">
                    <ChartCard id="chart-releases" title="Releases per week">
                        <ReleasesPerWeek weeks=weeks_for_bars />
                        <p class="legend">
                            <span class="swatch completed"></span>"completed "
                            <span class="swatch failed"></span>"failed "
                            <span class="swatch rejected"></span>"rejected "
                            <span class="swatch rolled-back"></span>"rolled back"
                        </p>
                    </ChartCard>
                    <ChartCard id="chart-duration" title="Mean duration per week">
                        <LineChart points=durations unit=format::duration />
                    </ChartCard>
                    <ChartCard id="chart-downtime" title="Downtime per week">
                        <BarChart points=downtimes unit=format::duration />
                    </ChartCard>
                </div>
            }.into_any()
        }}
    }
}

#[component]
fn Figure(id: &'static str, label: &'static str, value: String) -> impl IntoView {
    view! {
        <div class="figure" id=id>
            <span class="figure-value">{value}</span>
            <span class="figure-label">{label}</span>
        </div>
    }
}

#[component]
fn ChartCard(id: &'static str, title: &'static str, children: Children) -> impl IntoView {
    view! {
        <figure class="card chart" id=id>
            <figcaption>{title}</figcaption>
            {children()}
        </figure>
    }
}

/// The x position and width of week `index` of `count`.
fn slot(index: usize, count: usize) -> (f64, f64) {
    let step = (WIDTH - LEFT) / count.max(1) as f64;
    (LEFT + step * index as f64, step)
}

/// Height in pixels of `value` on a scale whose top is `max`.
fn scaled(value: f64, max: f64) -> f64 {
    if max <= 0.0 {
        0.0
    } else {
        (value / max) * (HEIGHT - TOP - BOTTOM)
    }
}

fn baseline() -> f64 {
    HEIGHT - BOTTOM
}

/// Axes, the maximum's label, and every few weeks' date (all of them when they fit).
fn frame(weeks: &[String], max_label: String) -> impl IntoView {
    let every = weeks.len().div_ceil(8).max(1);
    let labels = weeks
        .iter()
        .enumerate()
        .filter(|(i, _)| i % every == 0)
        .map(|(i, week)| {
            let (x, step) = slot(i, weeks.len());
            view! { <text class="axis-label" x=x + step / 2.0 y=HEIGHT - 6.0 text-anchor="middle">{week.get(5..).unwrap_or(week).to_owned()}</text> }
        })
        .collect_view();
    view! {
        <line class="axis" x1=LEFT y1=TOP x2=LEFT y2=baseline() />
        <line class="axis" x1=LEFT y1=baseline() x2=WIDTH y2=baseline() />
        <text class="axis-label" x=LEFT - 4.0 y=TOP + 8.0 text-anchor="end">{max_label}</text>
        <text class="axis-label" x=LEFT - 4.0 y=baseline() text-anchor="end">"0"</text>
        {labels}
    }
}

#[component]
fn ReleasesPerWeek(weeks: Vec<WeekStats>) -> impl IntoView {
    let max = weeks.iter().map(|w| (w.completed + w.failed + w.rejected + w.rolled_back).max(w.releases)).max().unwrap_or(0) as f64;
    let names: Vec<String> = weeks.iter().map(|w| w.week.clone()).collect();
    let count = weeks.len();
    let bars = weeks
        .into_iter()
        .enumerate()
        .map(|(i, w)| {
            let (x, step) = slot(i, count);
            let width = (step * 0.7).clamp(1.0, 40.0);
            let x = x + (step - width) / 2.0;
            let mut top = baseline();
            let segments = [("completed", w.completed), ("failed", w.failed), ("rejected", w.rejected), ("rolled-back", w.rolled_back)]
                .into_iter()
                .filter(|(_, n)| *n > 0)
                .map(|(kind, n)| {
                    let height = scaled(n as f64, max);
                    top -= height;
                    view! {
                        <rect class=format!("bar {kind}") x=x y=top width=width height=height data-week=w.week.clone() data-count=n>
                            <title>{format!("week of {}: {n} {kind}", w.week)}</title>
                        </rect>
                    }
                })
                .collect_view();
            segments
        })
        .collect_view();
    view! {
        <svg class="chart-svg" viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img" aria-label="releases per week">
            {frame(&names, format!("{max}"))}
            {bars}
        </svg>
    }
}

/// A weekly series' largest value, its week labels and its length.
fn series_scale(points: &[(String, f64)]) -> (f64, Vec<String>, usize) {
    let max = points.iter().map(|(_, v)| *v).fold(0.0, f64::max);
    (max, points.iter().map(|(week, _)| week.clone()).collect(), points.len())
}

#[component]
fn BarChart(points: Vec<(String, f64)>, unit: fn(f64) -> String) -> impl IntoView {
    let (max, names, count) = series_scale(&points);
    let bars = points
        .into_iter()
        .enumerate()
        .map(|(i, (week, value))| {
            let (x, step) = slot(i, count);
            let width = (step * 0.7).clamp(1.0, 40.0);
            let height = scaled(value, max);
            view! {
                <rect class="bar downtime" x=x + (step - width) / 2.0 y=baseline() - height width=width height=height data-week=week.clone()>
                    <title>{format!("week of {week}: {}", unit(value))}</title>
                </rect>
            }
        })
        .collect_view();
    view! {
        <svg class="chart-svg" viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img">
            {frame(&names, unit(max))}
            {bars}
        </svg>
    }
}

#[component]
fn LineChart(points: Vec<(String, f64)>, unit: fn(f64) -> String) -> impl IntoView {
    let (max, names, count) = series_scale(&points);
    let position = move |i: usize, value: f64| {
        let (x, step) = slot(i, count);
        (x + step / 2.0, baseline() - scaled(value, max))
    };
    let line = points
        .iter()
        .enumerate()
        .map(|(i, (_, value))| {
            let (x, y) = position(i, *value);
            format!("{x:.1},{y:.1}")
        })
        .collect::<Vec<_>>()
        .join(" ");
    let dots = points
        .into_iter()
        .enumerate()
        .map(|(i, (week, value))| {
            let (x, y) = position(i, value);
            view! {
                <circle class="dot" cx=x cy=y r="3.5" data-week=week.clone()>
                    <title>{format!("week of {week}: {}", unit(value))}</title>
                </circle>
            }
        })
        .collect_view();
    view! {
        <svg class="chart-svg" viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img">
            {frame(&names, unit(max))}
            <polyline class="line" points=line fill="none" />
            {dots}
        </svg>
    }
}
