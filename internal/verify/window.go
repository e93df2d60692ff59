package verify

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gitlab.com/platform/bluegreen/internal/outcome"
	"gitlab.com/platform/bluegreen/internal/prom"
)

// windowStart is where check c's window starts. A verdict rests on data up
// to the moment it is given: when the window from Since lies wholly in the
// past, with at least one complete interval of newer data after it, the
// window judged is the most recent complete one (on Since's interval grid)
// that ends by now, less the settle time.
func (s *Stage) windowStart(c *Check) time.Time {
	end := s.Since.Add(c.Window)
	newest := s.Now().Add(-s.Settle)
	if late := newest.Sub(end); late >= c.Interval {
		return s.Since.Add(late / c.Interval * c.Interval)
	}
	return s.Since
}

// baseline is the live colour's value before the switch: the check's query
// for it over a window as long as the check's, ending at Stage.Baseline. A
// query without {{.Window}} gives the mean of its interval values over that
// window. The note says what was found, for the log.
func (s *Stage) baseline(ctx context.Context, t Target, r *checkRun) (value, string, error) {
	c, at := r.check, s.Baseline
	var v value
	var q string
	if c.usesRange {
		var err error
		if q, err = c.RenderSide(t.side(true), c.Window); err != nil {
			return value{}, "", outcome.Usagef("checks file %s: %w", s.Checks.Path, err)
		}
		res, err := s.Prom.Query(ctx, q, at)
		r.warn(res.Warnings)
		if v, err = s.single(r, q, res, err); err != nil {
			return value{}, "", err
		}
	} else {
		q = r.live
		res, err := s.Prom.QueryRange(ctx, q, prom.Range{Start: at.Add(-c.Window + c.Interval), End: at, Step: c.Interval})
		r.warn(res.Warnings)
		if err != nil && !errors.Is(err, prom.ErrNoData) {
			return value{}, "", s.queryError(r, q, err)
		}
		if len(res.Series) > 1 {
			return value{}, "", s.manySeries(r, q, res)
		}
		sum, n := 0.0, 0
		if len(res.Series) == 1 {
			for _, p := range res.Series[0].Points {
				if x := newValue(p.V); x.ok() {
					sum, n = sum+x.V, n+1
				}
			}
		}
		v = value{State: absent}
		if n > 0 {
			v = value{V: sum / float64(n), State: ok}
		}
	}
	r.live = q
	note := fmt.Sprintf("%s baseline %s over the %s before the switch at %s", t.LiveName(), v, shortDuration(c.Window), at.UTC().Format(time.RFC3339))
	if !v.ok() {
		note = fmt.Sprintf("%s has no baseline (%s) over the %s before the switch at %s", t.LiveName(), v, shortDuration(c.Window), at.UTC().Format(time.RFC3339))
	}
	return v, note, nil
}
