package model

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/robfig/cron/v3"
	"go.yaml.in/yaml/v3"
)

// profile is the schedule and rotation settings a soak plays.
type profile struct {
	name               string
	period             time.Duration
	renewBefore, grace time.Duration
	revokeAfter        time.Duration
}

// chartProfile reads the Helm chart's defaults: the CronJob's schedule
// (its period is the time between two of its slots) and the rotation
// settings of the configuration it ships, so that the soak holds the
// defaults a user gets to the rotation's promise.
func chartProfile() (profile, error) {
	_, file, _, _ := runtime.Caller(0)
	p := filepath.Join(filepath.Dir(file), "..", "..", "charts", "credrotate", "values.yaml")
	b, err := os.ReadFile(p)
	if err != nil {
		return profile{}, fmt.Errorf("reading the chart's defaults: %w", err)
	}
	var v struct {
		Schedule string `yaml:"schedule"`
		Config   struct {
			Equifax struct {
				RenewBefore string `yaml:"renewBefore"`
				GracePeriod string `yaml:"gracePeriod"`
				RevokeAfter string `yaml:"revokeAfter"`
			} `yaml:"equifax"`
		} `yaml:"config"`
	}
	if err := yaml.Unmarshal(b, &v); err != nil {
		return profile{}, fmt.Errorf("%s: %w", p, err)
	}
	sched, err := cron.ParseStandard(v.Schedule)
	if err != nil {
		return profile{}, fmt.Errorf("%s: schedule %q: %w", p, v.Schedule, err)
	}
	first := sched.Next(start)
	pr := profile{name: "the chart's defaults (schedule " + v.Schedule + ")", period: sched.Next(first).Sub(first)}
	for _, f := range []struct {
		s   string
		d   *time.Duration
		def time.Duration
	}{{v.Config.Equifax.RenewBefore, &pr.renewBefore, RenewBefore}, {v.Config.Equifax.GracePeriod, &pr.grace, GracePeriod}, {v.Config.Equifax.RevokeAfter, &pr.revokeAfter, RevokeAfter}} {
		*f.d = f.def
		if f.s != "" {
			if *f.d, err = time.ParseDuration(f.s); err != nil {
				return profile{}, fmt.Errorf("%s: %w", p, err)
			}
		}
	}
	return pr, nil
}
