package loadtest

import (
	"runtime/metrics"
	"time"
)

// schedLatencies is the runtime/metrics histogram of how long goroutines
// wait, runnable, for a CPU: the queueing inside this process.
const schedLatencies = "/sched/latencies:seconds"

// schedHist reads the histogram of this process's scheduling latencies.
func schedHist() *metrics.Float64Histogram {
	s := []metrics.Sample{{Name: schedLatencies}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindFloat64Histogram {
		return nil
	}
	return s[0].Value.Float64Histogram()
}

// schedQuantile is the q quantile of the latencies counted between two
// readings of schedHist (the upper bound of its bucket), 0 if unknown.
func schedQuantile(from, to *metrics.Float64Histogram, q float64) time.Duration {
	if from == nil || to == nil || len(from.Counts) != len(to.Counts) {
		return 0
	}
	var total uint64
	for i := range to.Counts {
		total += to.Counts[i] - from.Counts[i]
	}
	if total == 0 {
		return 0
	}
	want := uint64(q*float64(total) + 0.5)
	var seen uint64
	for i := range to.Counts {
		seen += to.Counts[i] - from.Counts[i]
		if seen >= want {
			return time.Duration(to.Buckets[i+1] * float64(time.Second))
		}
	}
	return time.Duration(to.Buckets[len(to.Buckets)-1] * float64(time.Second))
}
