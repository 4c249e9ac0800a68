package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestSchedulePeriod(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		schedule string
		want     time.Duration
	}{
		{"0 5 * * 3", 7 * 24 * time.Hour},
		{"@weekly", 7 * 24 * time.Hour},
		{"0 5 * * *", 24 * time.Hour},
		{"0 5 * * 1,3", 5 * 24 * time.Hour},
		{"0 5 1 * *", 31 * 24 * time.Hour},
	} {
		got, err := SchedulePeriod(tc.schedule)
		if err != nil || got != tc.want {
			t.Errorf("SchedulePeriod(%q) = %s, %v; want %s", tc.schedule, got, err, tc.want)
		}
	}
	if _, err := SchedulePeriod("every wednesday"); err == nil {
		t.Error("a schedule that does not parse was accepted")
	}
}

// TestScheduleAndCriticalBefore: the defaults agree (a weekly schedule, two
// weeks of grace), a short grace is warned about, and bad values are
// problems that name the key.
func TestScheduleAndCriticalBefore(t *testing.T) {
	t.Parallel()
	load := func(env ...string) (*Config, error) {
		return Load(LoadOptions{Path: "testdata/good.yaml", Environ: env})
	}
	cfg, err := load("CREDROTATE_EQUIFAX_GRACEPERIOD=336h")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Schedule != DefaultSchedule || cfg.Equifax.CriticalBefore != 72*time.Hour {
		t.Errorf("schedule %q, criticalBefore %s", cfg.Schedule, cfg.Equifax.CriticalBefore)
	}
	if w := cfg.Warnings(); len(w) != 0 {
		t.Errorf("two weeks of grace on a weekly schedule warns: %v", w)
	}
	if d := defaults["equifax.gracePeriod"]; d != "336h" {
		t.Errorf("the default grace period %v is not two weekly periods", d)
	}

	cfg, err = load() // good.yaml has 168h
	if err != nil {
		t.Fatal(err)
	}
	if w := cfg.Warnings(); len(w) != 1 || !strings.Contains(w[0], "rotation.gracePeriod (168h0m0s)") || !strings.Contains(w[0], "336h") {
		t.Errorf("warnings = %v", w)
	}
	cfg, err = load("CREDROTATE_SCHEDULE=0 5 * * *")
	if err != nil || len(cfg.Warnings()) != 0 {
		t.Errorf("a daily schedule with a week of grace: %v %v", err, cfg.Warnings())
	}

	for _, tc := range []struct {
		env, key, want string
	}{
		{"CREDROTATE_SCHEDULE=every wednesday", "schedule", "is not a cron schedule"},
		{"CREDROTATE_EQUIFAX_CRITICALBEFORE=400h", "equifax.criticalBefore", "shorter than equifax.renewBefore"},
		{"CREDROTATE_EQUIFAX_CRITICALBEFORE=0s", "equifax.criticalBefore", "must be positive"},
		{"CREDROTATE_EQUIFAX_CRITICALBEFORE=soon", "equifax.criticalBefore", "is not a duration"},
	} {
		_, err := load(tc.env)
		var ve *ValidationError
		if !errors.As(err, &ve) {
			t.Errorf("%s: err %v, want a ValidationError", tc.env, err)
			continue
		}
		found := false
		for _, p := range ve.Problems {
			found = found || p.Key == tc.key && strings.Contains(p.Message, tc.want)
		}
		if !found {
			t.Errorf("%s: problems %v lack %s %q", tc.env, ve.Problems, tc.key, tc.want)
		}
	}
}
