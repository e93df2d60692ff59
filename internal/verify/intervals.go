package verify

import (
	"math"
	"time"
)

// Interval is one interval of a check's window, as a report shows it.
type Interval struct {
	Index      int // 1-based, within the check's window
	Start, End time.Time
	// Target is the colour under test's value; Live the compared value: the
	// live colour's (verify) or its baseline from before the switch
	// (monitor). nil is no series; NaN is NaN (0/0, no traffic). Live is
	// nil without a comparison.
	Target, Live *float64
	// Upper and Lower are the limits the interval was judged against: the
	// check's max and min, tightened by the comparison worked out from
	// Live. nil when there is none.
	Upper, Lower *float64
	Breach       bool
}

// Intervals are the check's observed intervals, oldest first: only those
// observed before the check was decided.
func (c CheckReport) Intervals() []Interval {
	out := make([]Interval, 0, len(c.Values))
	for _, o := range c.Values {
		iv := Interval{Index: o.Index, Start: o.At.Add(-c.Check.Interval), End: o.At, Target: pointer(o.Green), Breach: o.Breach}
		if c.Compared {
			iv.Live = pointer(o.Live)
		}
		iv.Upper, iv.Lower = c.limits(o.Live)
		out = append(out, iv)
	}
	return out
}

// limits are the tightest upper and lower limits against live value b,
// as judge applies them.
func (c CheckReport) limits(b value) (upper, lower *float64) {
	up, lo := math.Inf(1), math.Inf(-1)
	if c.Check.Max != nil {
		up = *c.Check.Max
	}
	if c.Check.Min != nil {
		lo = *c.Check.Min
	}
	if cmp := c.Check.Compare; cmp != nil && c.Compared && b.ok() {
		if d := cmp.MaxIncrease; d != nil {
			if l, ok := d.upper(b.V); ok {
				up = math.Min(up, l)
			}
		}
		if d := cmp.MaxDecrease; d != nil {
			if l, ok := d.lower(b.V); ok {
				lo = math.Max(lo, l)
			}
		}
	}
	if !math.IsInf(up, 1) {
		upper = &up
	}
	if !math.IsInf(lo, -1) {
		lower = &lo
	}
	return upper, lower
}

func pointer(v value) *float64 {
	switch v.State {
	case ok, isNaN:
		f := v.V
		return &f
	}
	return nil
}
