package config

import (
	"fmt"
	"time"

	"github.com/robfig/cron/v3"
)

// DefaultSchedule is when scheduled runs start unless the configuration says
// otherwise: the chart's CronJob default, Wednesdays at 05:00.
const DefaultSchedule = "0 5 * * 3"

// SchedulePeriod is the longest gap between two runs of a five-field cron
// schedule (or a descriptor such as @weekly), over a year of its runs.
func SchedulePeriod(schedule string) (time.Duration, error) {
	s, err := cron.ParseStandard(schedule)
	if err != nil {
		return 0, err
	}
	t := s.Next(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	end := t.AddDate(1, 0, 0)
	var longest time.Duration
	for i := 0; i < 1000 && t.Before(end); i++ {
		next := s.Next(t)
		if next.IsZero() {
			break
		}
		longest = max(longest, next.Sub(t))
		t = next
	}
	if longest == 0 {
		return 0, fmt.Errorf("%q never runs twice", schedule)
	}
	return longest, nil
}

func (c *Config) validateSchedule(ps *problems) {
	if c.Schedule == "" {
		return
	}
	if _, err := SchedulePeriod(c.Schedule); err != nil {
		ps.add("schedule", c.Schedule, "is not a cron schedule ("+err.Error()+")", `write five fields as the CronJob has them, e.g. "0 5 * * 3" (Wednesdays 05:00)`)
	}
}

// checkCritical validates equifax.criticalBefore, the expiry guard.
func (ps *problems) checkCritical(e Equifax) {
	switch {
	case e.CriticalBefore <= 0:
		ps.add("equifax.criticalBefore", e.CriticalBefore.String(), "must be positive", "use e.g. 72h: a secret in use that expires sooner raises a critical alert on every run")
	case e.RenewBefore > 0 && e.CriticalBefore >= e.RenewBefore:
		ps.add("equifax.criticalBefore", e.CriticalBefore.String(), "must be shorter than equifax.renewBefore ("+e.RenewBefore.String()+")", "otherwise a key is critical before it is even due; use e.g. 72h")
	}
}

// Warnings are things worth a person's attention in a valid configuration:
// `config validate` prints them. Today: a grace period shorter than two
// periods of the schedule, which leaves a rotation that fails after the mint
// only one scheduled run to be repaired before the old secret stops working.
func (c *Config) Warnings() []string {
	var out []string
	if c.Schedule == "" || c.Equifax.GracePeriod <= 0 {
		return out
	}
	period, err := SchedulePeriod(c.Schedule)
	if err != nil {
		return out
	}
	if c.Equifax.GracePeriod < 2*period {
		out = append(out, fmt.Sprintf("rotation.gracePeriod (%s) is shorter than two periods of schedule %q (2 x %s): once a secret is minted the old one stays valid only that long, so a run that fails after the mint leaves one scheduled run to repair it; raise rotation.gracePeriod to at least %s (Equifax allows up to 720h) or run more often",
			c.Equifax.GracePeriod, c.Schedule, period, 2*period))
	}
	return out
}
