// Package schedule runs `schedule` events locally: it parses EventBridge's
// rate() and cron() expressions, computes their next fire times in UTC and
// invokes functions with the scheduled event (or the configured input) on
// an injectable clock, so tests never sleep through real minutes.
package schedule

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Expr is a parsed schedule expression.
type Expr interface {
	// Next returns the first fire time strictly after t (UTC); the zero
	// time when the expression never fires again.
	Next(t time.Time) time.Time
	String() string
}

// Parse reads "rate(5 minutes)" or "cron(0 12 * * ? *)".
func Parse(s string) (Expr, error) {
	s = strings.TrimSpace(s)
	switch {
	case strings.HasPrefix(s, "rate(") && strings.HasSuffix(s, ")"):
		return parseRate(s, s[5:len(s)-1])
	case strings.HasPrefix(s, "cron(") && strings.HasSuffix(s, ")"):
		return parseCron(s, s[5:len(s)-1])
	}
	return nil, fmt.Errorf("%q is neither rate(value unit) nor cron(minutes hours day-of-month month day-of-week year)", s)
}

// Rate fires every Every, counted from the previous fire.
type Rate struct {
	Every time.Duration
	src   string
}

func (r *Rate) Next(t time.Time) time.Time { return t.Add(r.Every) }
func (r *Rate) String() string             { return r.src }

func parseRate(src, body string) (*Rate, error) {
	f := strings.Fields(body)
	if len(f) != 2 {
		return nil, fmt.Errorf("%s: want rate(value unit), e.g. rate(5 minutes)", src)
	}
	n, err := strconv.Atoi(f[0])
	if err != nil || n <= 0 {
		return nil, fmt.Errorf("%s: the value must be a positive whole number", src)
	}
	unit := map[string]time.Duration{
		"minute": time.Minute, "minutes": time.Minute,
		"hour": time.Hour, "hours": time.Hour,
		"day": 24 * time.Hour, "days": 24 * time.Hour,
	}[f[1]]
	if unit == 0 {
		return nil, fmt.Errorf("%s: unit must be minute(s), hour(s) or day(s)", src)
	}
	// EventBridge insists on the singular for 1 and the plural otherwise.
	if (n == 1) != !strings.HasSuffix(f[1], "s") {
		return nil, fmt.Errorf("%s: use %q with %d", src, map[bool]string{true: strings.TrimSuffix(f[1], "s"), false: strings.TrimSuffix(f[1], "s") + "s"}[n == 1], n)
	}
	return &Rate{Every: time.Duration(n) * unit, src: src}, nil
}

// Cron is an EventBridge six-field cron expression evaluated in UTC.
type Cron struct {
	src     string
	minutes [60]bool
	hours   [24]bool
	months  [13]bool
	years   map[int]bool // nil: every year
	dom     domField
	dow     dowField
}

type domField struct {
	any     bool // ? or *
	days    [32]bool
	last    bool // L
	lastOff int  // L-3
	weekday int  // 15W: nearest weekday to the 15th (0 when unused)
	lastW   bool // LW
}

type dowField struct {
	any     bool
	days    [8]bool // 1=SUN … 7=SAT
	lastDay int     // 6L: last Friday of the month
	nth     int     // 3#2: the second Tuesday
	nthDay  int
}

var monthNames = map[string]int{"JAN": 1, "FEB": 2, "MAR": 3, "APR": 4, "MAY": 5, "JUN": 6, "JUL": 7, "AUG": 8, "SEP": 9, "OCT": 10, "NOV": 11, "DEC": 12}
var dayNames = map[string]int{"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}

func parseCron(src, body string) (*Cron, error) {
	f := strings.Fields(body)
	if len(f) != 6 {
		return nil, fmt.Errorf("%s: cron needs 6 fields (minutes hours day-of-month month day-of-week year), found %d", src, len(f))
	}
	c := &Cron{src: src}
	errf := func(field string, err error) error { return fmt.Errorf("%s: %s: %v", src, field, err) }
	if err := setList(f[0], 0, 59, nil, c.minutes[:]); err != nil {
		return nil, errf("minutes", err)
	}
	if err := setList(f[1], 0, 23, nil, c.hours[:]); err != nil {
		return nil, errf("hours", err)
	}
	if err := setList(f[3], 1, 12, monthNames, c.months[:]); err != nil {
		return nil, errf("month", err)
	}
	if f[5] != "*" && f[5] != "?" {
		years := make([]bool, 2200)
		if err := setList(f[5], 1970, 2199, nil, years); err != nil {
			return nil, errf("year", err)
		}
		c.years = map[int]bool{}
		for y, ok := range years {
			if ok {
				c.years[y] = true
			}
		}
	}
	domQ, dowQ := f[2] == "?", f[4] == "?"
	if domQ == dowQ {
		return nil, fmt.Errorf("%s: exactly one of day-of-month and day-of-week must be ?", src)
	}
	if err := c.parseDOM(f[2]); err != nil {
		return nil, errf("day-of-month", err)
	}
	if err := c.parseDOW(f[4]); err != nil {
		return nil, errf("day-of-week", err)
	}
	return c, nil
}

func (c *Cron) parseDOM(s string) error {
	switch {
	case s == "?" || s == "*":
		c.dom.any = true
	case s == "L":
		c.dom.last = true
	case s == "LW":
		c.dom.lastW = true
	case strings.HasPrefix(s, "L-"):
		n, err := strconv.Atoi(s[2:])
		if err != nil || n < 0 || n > 30 {
			return fmt.Errorf("bad offset in %q", s)
		}
		c.dom.last, c.dom.lastOff = true, n
	case strings.HasSuffix(s, "W"):
		n, err := strconv.Atoi(s[:len(s)-1])
		if err != nil || n < 1 || n > 31 {
			return fmt.Errorf("bad day in %q", s)
		}
		c.dom.weekday = n
	default:
		return setList(s, 1, 31, nil, c.dom.days[:])
	}
	return nil
}

func (c *Cron) parseDOW(s string) error {
	switch {
	case s == "?" || s == "*":
		c.dow.any = true
	case s == "L":
		c.dow.days[7] = true // a bare L is the last day of the week: Saturday
	case strings.HasSuffix(s, "L"):
		d, err := value(s[:len(s)-1], 1, 7, dayNames)
		if err != nil {
			return err
		}
		c.dow.lastDay = d
	case strings.Contains(s, "#"):
		a, b, _ := strings.Cut(s, "#")
		d, err := value(a, 1, 7, dayNames)
		if err != nil {
			return err
		}
		n, err := strconv.Atoi(b)
		if err != nil || n < 1 || n > 5 {
			return fmt.Errorf("bad occurrence in %q (1-5)", s)
		}
		c.dow.nth, c.dow.nthDay = n, d
	default:
		return setList(s, 1, 7, dayNames, c.dow.days[:])
	}
	return nil
}

// setList parses "*", "a", "a-b", "a/n", "a-b/n", "*/n" and comma lists.
func setList(s string, lo, hi int, names map[string]int, out []bool) error {
	for _, part := range strings.Split(s, ",") {
		rng, stepStr, hasStep := strings.Cut(part, "/")
		step := 1
		if hasStep {
			n, err := strconv.Atoi(stepStr)
			if err != nil || n <= 0 {
				return fmt.Errorf("bad step in %q", part)
			}
			step = n
		}
		from, to := lo, hi
		switch {
		case rng == "*" || rng == "?":
		case strings.Contains(rng, "-"):
			a, b, _ := strings.Cut(rng, "-")
			var err error
			if from, err = value(a, lo, hi, names); err != nil {
				return err
			}
			if to, err = value(b, lo, hi, names); err != nil {
				return err
			}
		default:
			v, err := value(rng, lo, hi, names)
			if err != nil {
				return err
			}
			from = v
			if !hasStep {
				to = v
			}
		}
		if from <= to {
			for v := from; v <= to; v += step {
				out[v] = true
			}
		} else { // wrapping range such as FRI-MON or 22-2
			n := hi - lo + 1
			for i := 0; i <= (to-from+n)%n; i += step {
				out[lo+(from-lo+i)%n] = true
			}
		}
	}
	return nil
}

func value(s string, lo, hi int, names map[string]int) (int, error) {
	if v, ok := names[strings.ToUpper(s)]; ok {
		return v, nil
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < lo || v > hi {
		return 0, fmt.Errorf("%q is not in %d-%d", s, lo, hi)
	}
	return v, nil
}

func (c *Cron) String() string { return c.src }

// Next walks day by day (at most to year 2199) and, within a matching day,
// finds the first matching hour and minute.
func (c *Cron) Next(t time.Time) time.Time {
	t = t.UTC().Truncate(time.Minute).Add(time.Minute)
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	for day.Year() <= 2199 {
		if c.years != nil && !c.years[day.Year()] {
			day = time.Date(day.Year()+1, 1, 1, 0, 0, 0, 0, time.UTC)
			continue
		}
		if !c.months[int(day.Month())] {
			day = time.Date(day.Year(), day.Month()+1, 1, 0, 0, 0, 0, time.UTC)
			continue
		}
		if c.dayMatches(day) {
			startH, startM := 0, 0
			if day.Equal(time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)) {
				startH, startM = t.Hour(), t.Minute()
			}
			for h := startH; h < 24; h++ {
				if !c.hours[h] {
					continue
				}
				m0 := 0
				if h == startH {
					m0 = startM
				}
				for m := m0; m < 60; m++ {
					if c.minutes[m] {
						return time.Date(day.Year(), day.Month(), day.Day(), h, m, 0, 0, time.UTC)
					}
				}
			}
		}
		day = day.AddDate(0, 0, 1)
	}
	return time.Time{}
}

func (c *Cron) dayMatches(day time.Time) bool {
	last := daysIn(day.Year(), day.Month())
	d := day.Day()
	wd := int(day.Weekday()) + 1 // 1=SUN
	if !c.dom.any {
		switch {
		case c.dom.lastW:
			return d == nearestWeekday(day.Year(), day.Month(), last)
		case c.dom.last:
			return d == last-c.dom.lastOff
		case c.dom.weekday > 0:
			target := c.dom.weekday
			if target > last {
				target = last
			}
			return d == nearestWeekday(day.Year(), day.Month(), target)
		default:
			return c.dom.days[d]
		}
	}
	switch {
	case c.dow.any:
		return true
	case c.dow.lastDay > 0:
		return wd == c.dow.lastDay && d+7 > last
	case c.dow.nth > 0:
		return wd == c.dow.nthDay && (d-1)/7+1 == c.dow.nth
	default:
		return c.dow.days[wd]
	}
}

// nearestWeekday is the weekday closest to day d without leaving the month.
func nearestWeekday(y int, m time.Month, d int) int {
	t := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	switch t.Weekday() {
	case time.Saturday:
		if d == 1 {
			return 3
		}
		return d - 1
	case time.Sunday:
		if d == daysIn(y, m) {
			return d - 2
		}
		return d + 1
	}
	return d
}

func daysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}
