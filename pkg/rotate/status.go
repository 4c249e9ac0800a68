package rotate

import (
	"math"
	"time"

	"github.com/credrotate/credrotate/pkg/credential"
)

// StatusRow is one provider key in one environment.
type StatusRow struct {
	Key         credential.ProviderKey `json:"providerKey"`
	Env         string                 `json:"environment"`
	SecretID    string                 `json:"secretId"`
	Fingerprint string                 `json:"fingerprint"`
	ExpiresAt   time.Time              `json:"expiresAt,omitzero"`
	DaysLeft    int                    `json:"daysLeft"`
	State       State                  `json:"state"`
	Next        Action                 `json:"next"`
	PR          string                 `json:"pullRequest,omitempty"`
	Note        string                 `json:"note"`
}

// Status reports every provider key x environment from an observation: what
// the base branch deploys, its expiry, the state and the open pull request.
func (r *Runner) Status(obs *Observation) []StatusRow {
	plan := r.Plan(obs, true)
	now := r.now()
	var rows []StatusRow
	for i, ko := range obs.Keys {
		kp := plan.Keys[i]
		pr := ""
		if ko.Open != nil {
			pr = ko.Open.URL
		}
		byEnv := map[string]Deployed{}
		for _, d := range ko.Deployed {
			byEnv[d.Env] = d
		}
		for _, e := range obs.Envs {
			d, ok := byEnv[e.Name]
			row := StatusRow{Key: ko.Key, Env: e.Name, State: kp.State, Next: kp.Action, PR: pr, Note: kp.Reason}
			if ok {
				row.SecretID, row.Fingerprint, row.ExpiresAt = d.SecretID, d.Fingerprint, d.ExpiresAt
				if s, found := ko.Client.Find(d.SecretID); found && !s.ExpiresAt.IsZero() {
					row.ExpiresAt = s.ExpiresAt
				}
				row.DaysLeft = int(math.Floor(row.ExpiresAt.Sub(now).Hours() / 24))
			} else {
				row.Note = "no manifest in this environment yet; " + kp.Reason
			}
			rows = append(rows, row)
		}
	}
	return rows
}
