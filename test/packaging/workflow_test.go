package packaging

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rhysd/actionlint"
	"sigs.k8s.io/yaml"

	"github.com/credrotate/credrotate/internal/testenv"
	"github.com/credrotate/credrotate/pkg/rotate"
)

const workflowPath = "examples/github-actions/credrotate.yml"

// lintWorkflow runs actionlint on a workflow's text, with shellcheck on the
// run: scripts when it is installed (actionlint skips that rule otherwise).
func lintWorkflow(t *testing.T, src []byte) []*actionlint.Error {
	t.Helper()
	opts := &actionlint.LinterOptions{Color: actionlint.ColorOptionKindNever}
	if sc, err := exec.LookPath("shellcheck"); err == nil {
		opts.Shellcheck = sc
	} else {
		t.Log("shellcheck is not installed: run: scripts are not checked")
	}
	var out bytes.Buffer
	l, err := actionlint.NewLinter(&out, opts)
	if err != nil {
		t.Fatal(err)
	}
	// A name that is not a file on disk: no project config is looked up.
	errs, err := l.Lint("credrotate.yml", withMajorRefs(src), nil)
	if err != nil {
		t.Fatalf("actionlint: %v", err)
	}
	return errs
}

// pinnedUsesRE is a uses: pinned by commit SHA with its release in a
// comment: "owner/repo@<sha> # v4.4.0".
var pinnedUsesRE = regexp.MustCompile(`(uses:\s*[^\s@]+@)[0-9a-f]{40}(\s*#\s*(v\d+)\.\d+\.\d+)`)

// withMajorRefs rewrites each action pinned by SHA to its major tag (from
// the version comment) for the lint only: actionlint knows the inputs of
// popular actions by tag, not by commit, and would otherwise check none.
// Line and column numbers stay as they are.
func withMajorRefs(src []byte) []byte {
	return pinnedUsesRE.ReplaceAllFunc(src, func(m []byte) []byte {
		sub := pinnedUsesRE.FindSubmatch(m)
		return []byte(string(sub[1]) + string(sub[3]) + string(sub[2]))
	})
}

func TestWorkflowActionlint(t *testing.T) {
	src := readFile(t, workflowPath)
	for _, e := range lintWorkflow(t, src) {
		t.Errorf("%s:%d:%d: %s [%s]", workflowPath, e.Line, e.Column, e.Message, e.Kind)
	}
}

// TestWorkflowActionlintCatchesMistakes shows the lint is not a formality:
// each broken copy of the workflow is rejected.
func TestWorkflowActionlintCatchesMistakes(t *testing.T) {
	src := string(readFile(t, workflowPath))
	tests := []struct {
		name, old, new, wantKind string
		shellcheck               bool
	}{
		{"misspelt input", "PROVIDER_KEY: ${{ inputs.provider_key }}", "PROVIDER_KEY: ${{ inputs.provider_keys }}", "expression", false},
		{"unknown permission scope", "issues: write", "issue: write", "permissions", false},
		{"bad cron", `cron: "0 5 * * 3"`, `cron: "0 5 * * wednesday-ish"`, "events", false},
		{"unknown action input", "app-id: ${{ vars.CREDROTATE_APP_ID }}", "app_id: ${{ vars.CREDROTATE_APP_ID }}", "action", false},
		{"choice default not an option", `default: "true"`, `default: "yes"`, "events", false},
		{"shell mistake", "code=$?", "code=`echo $?`", "shellcheck", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.shellcheck {
				testenv.LookPath(t, "shellcheck", "apt-get install shellcheck")
			}
			if !strings.Contains(src, tc.old) {
				t.Fatalf("the workflow no longer contains %q", tc.old)
			}
			broken := strings.Replace(src, tc.old, tc.new, 1)
			errs := lintWorkflow(t, []byte(broken))
			if len(errs) == 0 {
				t.Fatalf("actionlint accepts the workflow with %q", tc.new)
			}
			var kinds []string
			for _, e := range errs {
				kinds = append(kinds, e.Kind)
			}
			if !slices.Contains(kinds, tc.wantKind) {
				t.Errorf("errors of kinds %v, want one of kind %q", kinds, tc.wantKind)
			}
		})
	}
}

// TestWorkflowContract checks what the workflow promises an operator: the
// Wednesday schedule, a manual trigger for one key, one run at a time and
// never cancelled, exactly the permissions it needs, a summary.
func TestWorkflowContract(t *testing.T) {
	src := readFile(t, workflowPath)
	var wf struct {
		On struct {
			Schedule []struct {
				Cron string `json:"cron"`
			} `json:"schedule"`
			WorkflowDispatch struct {
				Inputs map[string]struct {
					Type    string   `json:"type"`
					Options []string `json:"options"`
					Default string   `json:"default"`
				} `json:"inputs"`
			} `json:"workflow_dispatch"`
		} `json:"on"`
		Concurrency struct {
			Group            string `json:"group"`
			CancelInProgress *bool  `json:"cancel-in-progress"`
		} `json:"concurrency"`
		Permissions map[string]string `json:"permissions"`
		Jobs        map[string]struct {
			Permissions any `json:"permissions"`
			Steps       []struct {
				Run string `json:"run"`
			} `json:"steps"`
		} `json:"jobs"`
	}
	// YAML 1.1 reads the key `on` as the boolean true; GitHub reads it as
	// "on". Put it back before decoding.
	var raw map[string]any
	if err := yaml.Unmarshal(src, &raw); err != nil {
		t.Fatal(err)
	}
	if v, ok := raw["true"]; ok {
		raw["on"] = v
		delete(raw, "true")
	}
	j, err := json.Marshal(raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(j, &wf); err != nil {
		t.Fatal(err)
	}
	if len(wf.On.Schedule) != 1 || wf.On.Schedule[0].Cron != "0 5 * * 3" {
		t.Errorf("schedule %+v, want one cron 0 5 * * 3", wf.On.Schedule)
	}
	in := wf.On.WorkflowDispatch.Inputs
	if in["provider_key"].Type != "string" {
		t.Errorf("provider_key input %+v, want type string", in["provider_key"])
	}
	if cm := in["cron_mode"]; cm.Type != "choice" || !slices.Equal(cm.Options, []string{"true", "false"}) || cm.Default != "true" {
		t.Errorf("cron_mode input %+v, want a choice of true/false defaulting to true", cm)
	}
	if wf.Concurrency.Group != "credrotate" || wf.Concurrency.CancelInProgress == nil || *wf.Concurrency.CancelInProgress {
		t.Errorf("concurrency %+v, want group credrotate with cancel-in-progress: false", wf.Concurrency)
	}
	// Nothing at the top; the renew job asks for exactly what it needs.
	if len(wf.Permissions) != 0 {
		t.Errorf("top-level permissions %v, want {}", wf.Permissions)
	}
	want := map[string]string{"contents": "write", "pull-requests": "write", "issues": "write"}
	var runs strings.Builder
	for name, job := range wf.Jobs {
		perms, _ := job.Permissions.(map[string]any)
		if len(perms) != len(want) {
			t.Errorf("job %s permissions %v, want exactly %v", name, job.Permissions, want)
		}
		for k, v := range want {
			if perms[k] != v {
				t.Errorf("job %s permissions[%s] = %v, want %q", name, k, perms[k], v)
			}
		}
		for _, s := range job.Steps {
			runs.WriteString(s.Run + "\n")
		}
	}
	for _, want := range []string{"-o json", "--cron-mode", "--provider-key", "$GITHUB_STEP_SUMMARY", "credrotate.yaml"} {
		if !strings.Contains(runs.String(), want) {
			t.Errorf("no step runs %q", want)
		}
	}
	// Inputs reach the scripts only through env:, never spliced into the
	// script text where a crafted value would run as shell.
	if strings.Contains(runs.String(), "${{") {
		t.Error("a run: script interpolates an expression; pass it through env: instead")
	}
}

// workflowStep is one step of the workflow's job, as the tests run it.
type workflowStep struct {
	Name string            `json:"name"`
	Run  string            `json:"run"`
	Env  map[string]string `json:"env"`
}

func workflowSteps(t *testing.T) map[string]workflowStep {
	t.Helper()
	var wf struct {
		Jobs map[string]struct {
			Steps []workflowStep `json:"steps"`
		} `json:"jobs"`
	}
	if err := yaml.Unmarshal(readFile(t, workflowPath), &wf); err != nil {
		t.Fatal(err)
	}
	steps := map[string]workflowStep{}
	for _, s := range wf.Jobs["renew"].Steps {
		steps[s.Name] = s
	}
	return steps
}

// runStep runs a step's script the way GitHub's runner does for shell: bash
// (bash --noprofile --norc -eo pipefail), with env as the step would see it.
func runStep(t *testing.T, s workflowStep, env map[string]string) (string, int) {
	t.Helper()
	if s.Run == "" {
		t.Fatalf("step %q has no script", s.Name)
	}
	cmd := exec.Command("bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", s.Run)
	cmd.Env = []string{"HOME=" + t.TempDir()}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running step %q: %v", s.Name, err)
	}
	return string(out), code
}

// TestWorkflowScripts runs the workflow's own scripts with bash against a
// stand-in credrotate that records its arguments and prints a report made
// from credrotate's own report type: the command line each trigger builds,
// the exit code passed on, and the summary table in $GITHUB_STEP_SUMMARY.
func TestWorkflowScripts(t *testing.T) {
	for _, tool := range []string{"bash", "jq"} {
		testenv.LookPath(t, tool, "apt-get install "+tool+" (GitHub's runners have it)")
	}
	steps := workflowSteps(t)

	proposed := rotate.Report{
		TraceID: "3f0c1a9e5b7d4c21",
		Results: []rotate.KeyResult{
			{Key: "equifax.unique_client_id", Action: rotate.ActionRenew, Outcome: rotate.OutcomeProposed, SecretID: "sec-0002",
				ExpiresAt: time.Date(2027, 5, 19, 5, 0, 0, 0, time.UTC), PRURL: "https://github.com/acme/gitops/pull/42"},
			{Key: "equifax.batch_client_id", Action: rotate.ActionNoop, Outcome: rotate.OutcomeNoop, SecretID: "sec-0100",
				Reason: "renewal window opens 2027-01-10T05:00:00Z"},
		},
		PullRequests: []string{"https://github.com/acme/gitops/pull/42"},
	}
	failed := rotate.Report{
		TraceID: "9d1e",
		Results: []rotate.KeyResult{
			{Key: "equifax.unique_client_id", Action: rotate.ActionRenew, Outcome: rotate.OutcomeFailed,
				Step: "push", Error: "push rejected", Next: "check the token's contents: write permission"},
		},
	}

	tests := []struct {
		name         string
		providerKey  string
		cronMode     string // as the expression gives it: "true" on a schedule
		report       *rotate.Report
		raw          string // a report that is not a rotate.Report (a busy run's answer)
		exit         int
		wantArgs     string
		wantSummary  []string
		wantExitCode int
	}{
		{
			name: "schedule", cronMode: "true", report: &proposed,
			wantArgs:    "renew --config credrotate.yaml -o json --log-format json --cron-mode",
			wantSummary: []string{"## credrotate (schedule, exit 0)", "Trace id: `3f0c1a9e5b7d4c21`", "| equifax.unique_client_id | renew | proposed | sec-0002 | 2027-05-19 | https://github.com/acme/gitops/pull/42 |", "| equifax.batch_client_id | noop | noop | sec-0100 |  | renewal window opens", "Pull request: https://github.com/acme/gitops/pull/42"},
		},
		{
			name: "manual, one key now", providerKey: "equifax.unique_client_id", cronMode: "false", report: &proposed,
			wantArgs:    "renew --config credrotate.yaml -o json --log-format json --provider-key equifax.unique_client_id",
			wantSummary: []string{"| equifax.unique_client_id | renew | proposed |"},
		},
		{
			name: "failed run", cronMode: "true", report: &failed, exit: 1, wantExitCode: 1,
			wantArgs:    "renew --config credrotate.yaml -o json --log-format json --cron-mode",
			wantSummary: []string{"exit 1)", "| equifax.unique_client_id | renew | failed |  |  | push: push rejected check the token's contents: write permission |"},
		},
		{
			name: "config error, no report", cronMode: "true", exit: 2, wantExitCode: 2,
			wantArgs:    "renew --config credrotate.yaml -o json --log-format json --cron-mode",
			wantSummary: []string{"exit 2)", "No report: the run stopped before planning."},
		},
		{
			name: "another run holds the lease", cronMode: "true", exit: 3, wantExitCode: 3,
			raw:         `{"traceId":"5d1e","outcome":"busy","error":"another credrotate run holds the lease refs/credrotate/lease on https://github.com/acme/gitops.git: a cron run on credrotate-29123 (pid 1, trace 4bf9) since 2026-12-02T05:00:00Z, until 2026-12-02T05:35:00Z at the latest; this run changed nothing","leaseHolder":{"host":"credrotate-29123"}}`,
			wantArgs:    "renew --config credrotate.yaml -o json --log-format json --cron-mode",
			wantSummary: []string{"exit 3)", "Nothing done: another credrotate run holds the lease", "a cron run on credrotate-29123"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			bin := filepath.Join(dir, "bin")
			if err := os.Mkdir(bin, 0o755); err != nil {
				t.Fatal(err)
			}
			report := filepath.Join(dir, "report.json")
			if tc.report != nil {
				b, err := json.MarshalIndent(tc.report, "", "  ")
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(report, b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if tc.raw != "" {
				if err := os.WriteFile(report, []byte(tc.raw), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			argsFile := filepath.Join(dir, "args")
			fake := fmt.Sprintf("#!/bin/sh\necho \"$*\" > %q\n[ -f %q ] && cat %q\necho 'level=info msg=\"a log line\"' >&2\nexit %d\n", argsFile, report, report, tc.exit)
			if err := os.WriteFile(filepath.Join(bin, "credrotate"), []byte(fake), 0o755); err != nil {
				t.Fatal(err)
			}
			env := map[string]string{
				"PATH":                bin + string(os.PathListSeparator) + os.Getenv("PATH"),
				"RUNNER_TEMP":         dir,
				"GITHUB_OUTPUT":       filepath.Join(dir, "output"),
				"GITHUB_STEP_SUMMARY": filepath.Join(dir, "summary.md"),
				"PROVIDER_KEY":        tc.providerKey,
				"CRON_MODE":           tc.cronMode,
			}
			out, code := runStep(t, steps["Renew"], env)
			if code != tc.wantExitCode {
				t.Fatalf("Renew step exit %d, want %d:\n%s", code, tc.wantExitCode, out)
			}
			args, err := os.ReadFile(argsFile)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.TrimSpace(string(args)); got != tc.wantArgs {
				t.Errorf("credrotate %s\nwant     credrotate %s", got, tc.wantArgs)
			}
			output, _ := os.ReadFile(env["GITHUB_OUTPUT"])
			exitCode, _ := strings.CutPrefix(strings.TrimSpace(string(output)), "exit-code=")

			trigger := "schedule"
			if tc.providerKey != "" {
				trigger = "workflow_dispatch"
			}
			sumEnv := map[string]string{
				"PATH":                os.Getenv("PATH"),
				"RUNNER_TEMP":         dir,
				"GITHUB_STEP_SUMMARY": env["GITHUB_STEP_SUMMARY"],
				"EXIT_CODE":           exitCode,
				"TRIGGER":             trigger,
			}
			if out, code := runStep(t, steps["Write the summary"], sumEnv); code != 0 {
				t.Fatalf("summary step exit %d:\n%s", code, out)
			}
			summary, err := os.ReadFile(env["GITHUB_STEP_SUMMARY"])
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range tc.wantSummary {
				if !strings.Contains(string(summary), want) {
					t.Errorf("summary lacks %q:\n%s", want, summary)
				}
			}
		})
	}

	t.Run("input checks", func(t *testing.T) {
		for _, tc := range []struct{ key, cron string }{
			{"", "false"},                   // renew now, but which key?
			{"equifax.x; rm -rf /", "true"}, // not a key
			{"$(id)", "false"},              // not a key
		} {
			out, code := runStep(t, steps["Check the inputs"], map[string]string{"PATH": os.Getenv("PATH"), "PROVIDER_KEY": tc.key, "CRON_MODE": tc.cron})
			if code != 2 || !strings.Contains(out, "::error") {
				t.Errorf("provider_key %q cron_mode %s: exit %d, output %q; want exit 2 with an ::error annotation", tc.key, tc.cron, code, out)
			}
		}
		if out, code := runStep(t, steps["Check the inputs"], map[string]string{"PATH": os.Getenv("PATH"), "PROVIDER_KEY": "equifax.unique_client_id", "CRON_MODE": "false"}); code != 0 {
			t.Errorf("a good manual input is refused: %s", out)
		}
	})
}
