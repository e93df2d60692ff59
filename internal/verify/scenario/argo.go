package scenario

import (
	"math"
	"time"
)

// ArgoRule is the reference the benchmark compares bluegreen with: Argo
// Rollouts' documented analysis rule for one metric, as its docs describe
// it (docs/features/analysis.md):
//
//   - a measurement is taken every Interval, Count times, the first after
//     InitialDelay;
//   - a measurement is Successful when successCondition holds on the
//     result, Failed when it does not (NaN compares false, so NaN fails),
//     and an Error when the condition cannot be evaluated (result[0] of an
//     empty vector);
//   - the metric is Failed as soon as failed > FailureLimit, and Errored as
//     soon as consecutive errors > ConsecutiveErrorLimit (default 4);
//   - otherwise it is Successful once Count measurements are taken.
//
// The benchmark gives it InitialDelay = Interval, so that its first
// measurement, like bluegreen's, covers a full interval of green's traffic.
type ArgoRule struct {
	Interval              time.Duration
	Count                 int
	FailureLimit          int
	ConsecutiveErrorLimit int
	InitialDelay          time.Duration
}

// Measurement is one measurement's phase.
type Measurement int

// The measurement phases.
const (
	Successful Measurement = iota
	Failed
	Errored
)

// Measure applies successCondition `result[0] <= limit` (or >= for a lower
// limit) to one query answer; ok is false for an empty result.
func Measure(v float64, ok bool, limit float64, upper bool) Measurement {
	switch {
	case !ok:
		return Errored
	case math.IsNaN(v):
		return Failed
	case upper && v <= limit, !upper && v >= limit:
		return Successful
	}
	return Failed
}

// ArgoOutcome is an analysis's end.
type ArgoOutcome struct {
	Phase string        // Successful, Failed, Error
	At    time.Duration // from the window start: when the phase was reached
}

// Assess runs the rule over the measurements, one per interval in order.
func (r ArgoRule) Assess(ms []Measurement) ArgoOutcome {
	failed, consecutive := 0, 0
	for i, m := range ms {
		if i >= r.Count {
			break
		}
		at := r.InitialDelay + time.Duration(i)*r.Interval
		switch m {
		case Failed:
			failed++
			consecutive = 0
		case Errored:
			consecutive++
		default:
			consecutive = 0
		}
		if failed > r.FailureLimit {
			return ArgoOutcome{"Failed", at}
		}
		if consecutive > r.ConsecutiveErrorLimit {
			return ArgoOutcome{"Error", at}
		}
	}
	n := min(len(ms), r.Count)
	return ArgoOutcome{"Successful", r.InitialDelay + time.Duration(n-1)*r.Interval}
}
