package verify_test

import (
	"context"
	"math"
	"testing"

	"gitlab.com/platform/bluegreen/internal/plan"
)

func same(a *float64, b *plan.Number) bool {
	switch {
	case a == nil || b == nil:
		return a == nil && b == nil
	case math.IsNaN(*a):
		return math.IsNaN(float64(*b))
	}
	return *a == float64(*b)
}

func TestIntervals_AgreeWithTheRecordAndCarryTheLimits(t *testing.T) {
	t.Parallel()
	for _, family := range []string{"good", "latency-regression", "blue-missing", "no-traffic"} {
		t.Run(family, func(t *testing.T) {
			t.Parallel()
			st, _, _, _ := stageFor(t, family, 1, replayed)
			rep, err := st.Verify(context.Background(), target)
			if err != nil {
				t.Fatal(err)
			}
			rec := rep.Record()
			for i, c := range rep.Checks {
				ivs, want := c.Intervals(), rec.Checks[i].Values
				if len(ivs) != len(want) {
					t.Fatalf("%s: %d intervals, the record has %d", c.Check.Name, len(ivs), len(want))
				}
				for k, iv := range ivs {
					w := want[k]
					if !iv.End.Equal(w.At) || iv.End.Sub(iv.Start) != c.Check.Interval || iv.Index != k+1 {
						t.Errorf("%s interval %d: #%d %s–%s, want #%d ending %s, one interval long", c.Check.Name, k, iv.Index, iv.Start, iv.End, k+1, w.At)
					}
					if !same(iv.Target, w.Target) || !same(iv.Live, w.Live) || iv.Breach != w.Breach {
						t.Errorf("%s interval %d: target %v live %v breach %v, the record has %v %v %v", c.Check.Name, k, iv.Target, iv.Live, iv.Breach, w.Target, w.Live, w.Breach)
					}
					switch c.Check.Name {
					case "error-rate":
						if iv.Upper == nil || *iv.Upper != 0.01 || iv.Lower != nil {
							t.Errorf("error-rate interval %d: limits %v %v, want ≤ 0.01 only", k, iv.Upper, iv.Lower)
						}
					case "latency-p99":
						// 20% above live's value, when there is one to compare with.
						ok := iv.Live != nil && !math.IsNaN(*iv.Live) && *iv.Live > 0
						if ok != (iv.Upper != nil) || (ok && math.Abs(*iv.Upper-*iv.Live*1.2) > 1e-12) {
							t.Errorf("latency-p99 interval %d: upper limit %v against live %v, want live +20%%", k, iv.Upper, iv.Live)
						}
					}
				}
			}
		})
	}
}
