package cli

import (
	"errors"
	"fmt"
	"time"

	"github.com/credrotate/credrotate/pkg/gitops"
	"github.com/credrotate/credrotate/pkg/rotate"
)

// statusReport is what `status -o json` prints: the run lease, and every
// provider key x environment with its state and the reason for it.
type statusReport struct {
	Lease leaseStatus        `json:"lease"`
	Keys  []rotate.StatusRow `json:"keys"`
}

// leaseStatus is the run lease as status shows it.
type leaseStatus struct {
	// State is free, held, overdue (held past its holder's deadline),
	// expired (the next run takes it over), corrupt or unknown.
	State  string         `json:"state"`
	Holder *gitops.Holder `json:"holder,omitempty"`
	// Summary says the same in a sentence.
	Summary string `json:"summary"`
}

// describeLease turns what Read returned into what status shows.
func describeLease(st gitops.LeaseState, err error, now time.Time) leaseStatus {
	switch {
	case errors.Is(err, gitops.ErrLeaseCorrupt):
		return leaseStatus{State: "corrupt", Summary: err.Error()}
	case err != nil:
		return leaseStatus{State: "unknown", Summary: "could not be read: " + err.Error()}
	case !st.Held:
		return leaseStatus{State: "free", Summary: "free: no credrotate run holds this repository"}
	}
	h := st.Holder
	ls := leaseStatus{State: "held", Holder: &h}
	exp := h.ExpiresAt.UTC().Format(time.RFC3339)
	switch {
	case st.Expired(now):
		ls.State = "expired"
		ls.Summary = fmt.Sprintf("expired: held by %s, which did not finish; expired %s, the next run takes it over", h, exp)
	case st.Overdue(now):
		ls.State = "overdue"
		ls.Summary = fmt.Sprintf("overdue: held by %s past its deadline %s; it may be stuck: if no credrotate run is active, clear it with `git push origin :%s` (it expires %s)",
			h, h.Deadline.UTC().Format(time.RFC3339), gitops.LeaseRef, exp)
	default:
		ls.Summary = fmt.Sprintf("held by %s, until %s at the latest", h, exp)
	}
	return ls
}
