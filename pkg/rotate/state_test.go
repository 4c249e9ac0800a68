package rotate

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/credrotate/credrotate/pkg/equifax"
)

type edge struct{ from, action, to string }

func tableEdges() map[edge]bool {
	out := map[edge]bool{}
	for _, tr := range Transitions {
		out[edge{string(tr.From), string(tr.Action), string(tr.To)}] = true
	}
	return out
}

var edgeRe = regexp.MustCompile(`^\s*([A-Za-z_\[\]*]+)\s*-->\s*([A-Za-z_\[\]*]+)\s*(?::\s*(\S+))?\s*$`)

// TestRotationDocDiagram holds the Mermaid diagram of docs/rotation.md
// against Transitions: the same edges, each labelled with its action, and a
// section per state.
func TestRotationDocDiagram(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../../docs/rotation.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(doc)
	start := strings.Index(text, "```mermaid\n")
	if start < 0 {
		t.Fatal("docs/rotation.md has no mermaid block")
	}
	body := text[start+len("```mermaid\n"):]
	body = body[:strings.Index(body, "```")]
	drawn := map[edge]bool{}
	for _, line := range strings.Split(body, "\n") {
		m := edgeRe.FindStringSubmatch(line)
		if m == nil || m[1] == "[*]" {
			continue
		}
		e := edge{m[1], m[3], m[2]}
		if drawn[e] {
			t.Errorf("the diagram draws %s --> %s : %s twice", e.from, e.to, e.action)
		}
		drawn[e] = true
	}
	want := tableEdges()
	for e := range want {
		if !drawn[e] {
			t.Errorf("the diagram lacks %s --> %s : %s (rotate.Transitions has it)", e.from, e.to, e.action)
		}
	}
	for e := range drawn {
		if !want[e] {
			t.Errorf("the diagram draws %s --> %s : %s, which rotate.Transitions does not have", e.from, e.to, e.action)
		}
	}
	for _, s := range States {
		if !strings.Contains(text, "\n### `"+string(s)+"`") {
			t.Errorf("docs/rotation.md has no section \"### `%s`\"", s)
		}
	}
}

// TestPlanFollowsTransitions explores the plan over every combination of
// the observations it reads (secrets at Equifax, manifests, open pull
// requests, the workload's secret, the clock, a failed describe): every
// state and action it chooses is an edge of Transitions, and every edge's
// state and action is chosen by some observation.
func TestPlanFollowsTransitions(t *testing.T) {
	t.Parallel()
	now := t0
	opts := PlanOptions{RenewBefore: 14 * day, RevokeAfter: day, Now: now}
	statuses := []equifax.Status{"", equifax.StatusActive, equifax.StatusRetiring, equifax.StatusRevoked}
	mk := func(id string, st equifax.Status, created time.Time, life time.Duration) []equifax.SecretInfo {
		if st == "" {
			return nil
		}
		return []equifax.SecretInfo{{SecretID: id, Status: st, Hint: id[:2], CreatedAt: created, ExpiresAt: now.Add(life)}}
	}
	type pair struct{ s, a string }
	seen := map[pair]int{}
	allowed := map[pair]bool{}
	for e := range tableEdges() {
		allowed[pair{e.from, e.action}] = true
	}
	n := 0
	for _, life := range []time.Duration{10 * day, 100 * day} {
		for _, s1 := range statuses {
			for _, s2 := range statuses {
				for _, dep := range []string{"", "s1", "s2", "mixed"} {
					for _, pr := range []string{"", "s1", "s2", "s3", "dup", "s2 conflicting"} {
						for _, fpMatch := range []bool{false, true} {
							for _, cron := range []bool{false, true} {
								for _, age := range []time.Duration{time.Hour, 3 * day} {
									for _, fault := range []int{0, 1, 2} {
										o := KeyObservation{Key: "k", ClientID: "c", Environments: 1, CurrentFingerprint: "fp-cur"}
										o.Client.Secrets = append(mk("s1", s1, now.Add(-100*day), life), mk("s2", s2, now.Add(-age), 180*day)...)
										switch dep {
										case "mixed":
											o.Deployed = []Deployed{{Env: "a", SecretID: "s1"}, {Env: "b", SecretID: "s2"}}
										case "":
										default:
											fp := "fp-other"
											if fpMatch {
												fp = "fp-cur"
											}
											o.Deployed = []Deployed{{Env: "a", SecretID: dep, Fingerprint: fp, RotatedAt: now.Add(-age), ExpiresAt: now.Add(90 * day)}}
										}
										switch pr {
										case "":
										case "dup":
											o.Open = &OpenRotation{Number: 2, NewSecretID: "s2"}
											o.Others = []OpenRotation{{Number: 1, NewSecretID: "s2"}}
										case "s2 conflicting":
											o.Open = &OpenRotation{Number: 1, NewSecretID: "s2", OldSecretID: "s1", Fingerprint: "fp-new", Conflicting: true}
										default:
											o.Open = &OpenRotation{Number: 1, NewSecretID: pr, OldSecretID: "s1"}
										}
										if fpMatch {
											o.HintMatches = []string{"s1"}
										}
										switch fault {
										case 1:
											o.DescribeErr = errors.New("503")
										case 2:
											if dep != "" && dep != "mixed" && pr == "" {
												o.Quiet, o.Client = true, equifax.ClientInfo{}
											}
										}
										op := opts
										op.CronMode = cron
										kp := MakePlan([]KeyObservation{o}, op).Keys[0]
										n++
										p := pair{string(kp.State), string(kp.Action)}
										seen[p]++
										if !allowed[p] {
											t.Errorf("state %s chose %s, which Transitions does not list: %s", kp.State, kp.Action, kp.Reason)
										}
										if kp.Reason == "" {
											t.Errorf("%s/%s without a reason", kp.State, kp.Action)
										}
									}
								}
							}
						}
					}
				}
			}
		}
	}
	var missing []string
	for p := range allowed {
		if seen[p] == 0 {
			missing = append(missing, fmt.Sprintf("%s/%s", p.s, p.a))
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("Transitions lists state/action pairs no observation leads to: %v", missing)
	}
	t.Logf("%d observations, %d state/action pairs", n, len(seen))
}
