package inventory

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Credential is one credential the notices watch: a managed key's deployed
// secret or an unmanaged credential from the inventory.
type Credential struct {
	// ID names it in the notice's alert key: "<type>/<client>/<secret>".
	ID        string
	Label     string
	ExpiresAt time.Time
	Managed   bool
}

// Notice is a threshold a credential has crossed.
type Notice struct {
	Credential Credential
	// Days is the threshold crossed; DaysLeft what remains.
	Days, DaysLeft int
	// Key is the alert key: one open notice per credential and threshold.
	Key string
	// Supersedes are the keys of the same credential's open notices of
	// earlier thresholds, closed when this one is raised.
	Supersedes []string
}

// noticePrefix starts every notice's alert key.
const noticePrefix = "expiry:"

// NoticeKey is the alert key of a credential's notice at a threshold.
func NoticeKey(id string, days int) string { return fmt.Sprintf("%s%s@%dd", noticePrefix, id, days) }

// Notices decides which notices to raise and which to resolve, given the
// open alert keys: each credential gets one notice for the smallest
// threshold it has crossed, once (an open notice for it is not raised
// again); earlier thresholds' notices are superseded. A managed credential
// is noticed only at thresholds inside renewBefore: before that its
// rotation is not due, so the notice would be noise. An open notice whose
// credential no longer needs it (rotated, gone, further from expiry) is
// resolved.
func Notices(now time.Time, creds []Credential, thresholds []int, renewBefore time.Duration, open map[string]bool) (raise []Notice, resolve []string) {
	ts := append([]int(nil), thresholds...)
	sort.Ints(ts)
	wanted := map[string]bool{}
	for _, c := range creds {
		if c.ExpiresAt.IsZero() {
			continue
		}
		left := c.ExpiresAt.Sub(now)
		crossed := -1
		for _, d := range ts {
			limit := time.Duration(d) * 24 * time.Hour
			if c.Managed && limit >= renewBefore {
				continue
			}
			if left <= limit {
				crossed = d
				break
			}
		}
		if crossed < 0 {
			continue
		}
		key := NoticeKey(c.ID, crossed)
		wanted[key] = true
		if open[key] {
			continue
		}
		n := Notice{Credential: c, Days: crossed, DaysLeft: int(left.Hours() / 24), Key: key}
		for k := range open {
			if strings.HasPrefix(k, noticePrefix+c.ID+"@") && k != key {
				n.Supersedes = append(n.Supersedes, k)
				wanted[k] = true // closed as superseded, not as resolved
			}
		}
		sort.Strings(n.Supersedes)
		raise = append(raise, n)
	}
	for k := range open {
		if strings.HasPrefix(k, noticePrefix) && !wanted[k] {
			resolve = append(resolve, k)
		}
	}
	sort.Strings(resolve)
	sort.Slice(raise, func(i, j int) bool { return raise[i].Key < raise[j].Key })
	return raise, resolve
}
