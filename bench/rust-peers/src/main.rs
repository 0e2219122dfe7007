// SPDX-License-Identifier: LGPL-2.1-or-later
//! bench-peers-rust: the keyed reads and single-value gets of bench-peers, through Rust's peers:
//! the `thread_local` crate's `ThreadLocal<T>` (per-object, like a TlLocal) and std's
//! `thread_local!` (per-variable), each holding a std `HashMap<String, i64>` (SipHash-1-3, the
//! default hasher) looked up by `&str`. The timer is bench-common.c's, ported: every variant
//! sampled once per round in rotated order, the median of the rounds reported, the same CSV schema.
//!
//!   bench-peers-rust [--quick] [--cpu-time] [--csv PATH]
//!
//! --cpu-time: time samples by the thread's CPU clock, as bench-common's --cpu-time.
//!
//! Copyright the libtlslocal authors.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::{compiler_fence, AtomicU64, Ordering};
use std::time::Instant;

use thread_local::ThreadLocal;

type Map = HashMap<String, i64>;

const KEY_COUNTS: [usize; 3] = [1, 8, 64];
const CRATE: &str = "Rust thread_local crate";
const STD: &str = "Rust std thread_local!";

static SINK: AtomicU64 = AtomicU64::new(0);

// std has no thread CPU clock; glibc's, on 64-bit Linux (where time_t and long are 64 bits).
#[repr(C)]
struct Timespec {
    tv_sec: i64,
    tv_nsec: i64,
}
extern "C" {
    fn clock_gettime(clock: i32, ts: *mut Timespec) -> i32;
}
const CLOCK_THREAD_CPUTIME_ID: i32 = 3;

fn thread_cpu_ns() -> f64 {
    let mut ts = Timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: ts is a valid, writable timespec.
    if unsafe { clock_gettime(CLOCK_THREAD_CPUTIME_ID, &mut ts) } != 0 {
        eprintln!("bench-peers-rust: clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
        std::process::exit(1);
    }
    ts.tv_sec as f64 * 1e9 + ts.tv_nsec as f64
}

thread_local! {
    static STD_MAPS: [RefCell<Map>; 3] = Default::default();
}

/// The keys of one dictionary, in a buffer that no map owns (as bench-common's fixture).
struct Fixture {
    index: usize, // into KEY_COUNTS
    buffer: Vec<String>,
    tl: ThreadLocal<Map>,
}

impl Fixture {
    fn keys(&self) -> Vec<&str> {
        self.buffer.iter().map(String::as_str).collect()
    }
}

// The compiler must assume memory changed, as BENCH_BARRIER() in C: every iteration redoes its
// loads.
#[inline(always)]
fn barrier() {
    compiler_fence(Ordering::SeqCst);
}

fn loop_crate_peek(fixture: &Fixture, keys: &[&str], iterations: u64) -> u64 {
    let mask = keys.len() as u64 - 1;
    let mut sum = 0u64;
    for i in 0..iterations {
        let key = keys[(i & mask) as usize];
        let map = fixture.tl.get().unwrap();
        sum = sum.wrapping_add(map.get(key).map_or(0, |v| v as *const i64 as u64));
        barrier();
    }
    sum
}

fn loop_std_peek(fixture: &Fixture, keys: &[&str], iterations: u64) -> u64 {
    let mask = keys.len() as u64 - 1;
    let index = fixture.index;
    let mut sum = 0u64;
    for i in 0..iterations {
        let key = keys[(i & mask) as usize];
        sum = sum.wrapping_add(
            STD_MAPS
                .with(|maps| maps[index].borrow().get(key).map_or(0, |v| v as *const i64 as u64)),
        );
        barrier();
    }
    sum
}

fn loop_crate_get(fixture: &Fixture, _keys: &[&str], iterations: u64) -> u64 {
    let mut sum = 0u64;
    for _ in 0..iterations {
        sum = sum.wrapping_add(fixture.tl.get().map_or(0, |m| m as *const Map as u64));
        barrier();
    }
    sum
}

fn loop_std_get(_fixture: &Fixture, _keys: &[&str], iterations: u64) -> u64 {
    let mut sum = 0u64;
    for _ in 0..iterations {
        sum = sum.wrapping_add(STD_MAPS.with(|maps| maps as *const _ as u64));
        barrier();
    }
    sum
}

type Loop = fn(&Fixture, &[&str], u64) -> u64;

struct Variant<'a> {
    case: String,
    impl_: &'static str,
    run: Loop,
    fixture: &'a Fixture,
    keys: Vec<&'a str>,
    iterations: u64,
    samples: Vec<f64>,
    cpu_time: bool,
}

impl Variant<'_> {
    fn measure(&self, iterations: u64) -> f64 {
        let (start, start_cpu) =
            (Instant::now(), if self.cpu_time { thread_cpu_ns() } else { 0.0 });
        let sum = (self.run)(self.fixture, &self.keys, iterations);
        let elapsed = if self.cpu_time {
            thread_cpu_ns() - start_cpu
        } else {
            start.elapsed().as_nanos() as f64
        };
        SINK.fetch_add(sum, Ordering::Relaxed);
        elapsed
    }

    // Double until a sample is long enough to trust, then scale to the target.
    fn calibrate(&mut self, target_ns: f64) {
        let mut iterations = 1u64;
        loop {
            let elapsed = self.measure(iterations);
            if elapsed >= target_ns / 8.0 || iterations >= 1 << 40 {
                self.iterations =
                    ((iterations as f64 * target_ns / elapsed.max(1.0)) as u64).max(1);
                self.measure(self.iterations);
                return;
            }
            iterations *= 2;
        }
    }
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    let position = q * (sorted.len() - 1) as f64;
    let below = position as usize;
    let fraction = position - below as f64;
    if below + 1 >= sorted.len() {
        return sorted[sorted.len() - 1];
    }
    sorted[below] * (1.0 - fraction) + sorted[below + 1] * fraction
}

fn body(quick: bool, cpu_time: bool, csv_path: Option<String>) {
    let (rounds, target_ns) = if quick { (5usize, 2e6) } else { (11usize, 20e6) };
    let started = Instant::now();
    let fixtures: Vec<Fixture> = KEY_COUNTS
        .iter()
        .enumerate()
        .map(|(index, &n)| {
            let fixture = Fixture {
                index,
                buffer: (0..n).map(|i| format!("key{}", i)).collect(),
                tl: ThreadLocal::new(),
            };
            let map: Map = (0..n).map(|i| (format!("key{}", i), i as i64)).collect();
            STD_MAPS.with(|maps| *maps[index].borrow_mut() = map.clone());
            fixture.tl.get_or(|| map);
            fixture
        })
        .collect();

    let mut variants = Vec::new();
    for (fixture, &n) in fixtures.iter().zip(KEY_COUNTS.iter()) {
        for &(impl_, run) in &[(CRATE, loop_crate_peek as Loop), (STD, loop_std_peek as Loop)] {
            variants.push(Variant {
                case: format!("peek/{}", n),
                impl_,
                run,
                fixture,
                keys: fixture.keys(),
                iterations: 0,
                samples: vec![0.0; rounds],
                cpu_time,
            });
        }
    }
    for &(impl_, run) in &[(CRATE, loop_crate_get as Loop), (STD, loop_std_get as Loop)] {
        variants.push(Variant {
            case: "slot get".to_string(),
            impl_,
            run,
            fixture: &fixtures[0],
            keys: fixtures[0].keys(),
            iterations: 0,
            samples: vec![0.0; rounds],
            cpu_time,
        });
    }
    // Every key is found, and a key no map holds is not.
    for variant in variants.iter().filter(|v| v.case.starts_with("peek")) {
        let n = variant.keys.len() as u64;
        let misses: Vec<String> = (0..n).map(|i| format!("miss{}", i)).collect();
        let misses: Vec<&str> = misses.iter().map(String::as_str).collect();
        if (variant.run)(variant.fixture, &variant.keys, n) == 0
            || (variant.run)(variant.fixture, &misses, n) != 0
        {
            eprintln!("bench-peers-rust: a map does not hold exactly its keys");
            std::process::exit(1);
        }
    }

    for variant in variants.iter_mut() {
        variant.calibrate(target_ns);
    }
    let n = variants.len();
    for round in 0..rounds {
        for i in 0..n {
            let variant = &mut variants[(round + i) % n];
            variant.samples[round] =
                variant.measure(variant.iterations) / variant.iterations as f64;
        }
    }

    println!(
        "bench-peers-rust: thread_local crate and std thread_local!, each holding a std HashMap; \
         {} rounds x {:.0} ms per variant, {:.1} s{}",
        rounds,
        target_ns / 1e6,
        started.elapsed().as_secs_f64(),
        if cpu_time { "; samples timed by the thread's CPU clock" } else { "" }
    );
    println!("\n{:<32} {:>12}", "", "ns/op");
    let mut csv = csv_path.as_ref().map(|path| {
        let mut file = std::fs::File::create(path).unwrap_or_else(|e| {
            eprintln!("bench-peers-rust: cannot write {}: {}", path, e);
            std::process::exit(1)
        });
        writeln!(file, "section,case,impl,median,p25,p75,min,max,unit,rounds").unwrap();
        file
    });
    for variant in &variants {
        let mut sorted = variant.samples.clone();
        sorted.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let median = quantile(&sorted, 0.5);
        println!("{:<32} {:>12.2}", format!("{} {}", variant.case, variant.impl_), median);
        if let Some(file) = csv.as_mut() {
            writeln!(
                file,
                "peers,{},{},{:.3},{:.3},{:.3},{:.3},{:.3},ns/op,{}",
                variant.case,
                variant.impl_,
                median,
                quantile(&sorted, 0.25),
                quantile(&sorted, 0.75),
                sorted[0],
                sorted[rounds - 1],
                rounds
            )
            .unwrap();
        }
    }
    println!("Median of {} rounds.", rounds);
}

fn main() {
    let mut quick = false;
    let mut cpu_time = false;
    let mut csv_path = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => quick = true,
            "--cpu-time" => cpu_time = true,
            "--csv" => csv_path = args.next(),
            _ => {
                println!("usage: bench-peers-rust [--quick] [--cpu-time] [--csv PATH]");
                std::process::exit(if arg == "--help" || arg == "-h" { 0 } else { 2 });
            }
        }
    }
    // On a fresh thread, so TLS behaves as it does in a worker.
    std::thread::spawn(move || body(quick, cpu_time, csv_path)).join().unwrap();
}
