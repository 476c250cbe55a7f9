package referee

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
)

// Outcome is how a scenario run ended.
type Outcome string

// Outcomes. Only OutcomeFail is unexpected: a known defect or a known
// incompatibility is documented in defects.go, and unsupported means a peer
// lacks what the mode needs.
const (
	OutcomePass              Outcome = "pass"
	OutcomeFail              Outcome = "fail"
	OutcomeKnownDefect       Outcome = "known_defect"
	OutcomeKnownIncompatible Outcome = "known_incompatible"
	OutcomeUnsupported       Outcome = "unsupported"
)

// Result is the outcome of one scenario run in one direction.
type Result struct {
	Scenario  string  `json:"scenario"`
	Mode      Mode    `json:"mode"`
	Names     Naming  `json:"names"`
	Direction string  `json:"direction"`
	Initiator string  `json:"initiator"`
	Responder string  `json:"responder"`
	Outcome   Outcome `json:"outcome"`
	Detail    string  `json:"detail,omitempty"`
	Messages  int     `json:"messages"`
	Seconds   float64 `json:"seconds"`
	// What each side sent, and the SPQR epochs both crossed (see
	// EpochsCrossed).
	FromInitiator Traffic `json:"from_initiator"`
	FromResponder Traffic `json:"from_responder"`
	EpochsCrossed int     `json:"spqr_epochs_crossed"`
}

// SPQRSummary describes a run's SPQR epochs in a few characters: "-" if no
// side sent SPQR data, the epochs crossed if both did, and which side did
// otherwise.
func (r Result) SPQRSummary() string {
	switch i, o := r.FromInitiator.SPQR > 0, r.FromResponder.SPQR > 0; {
	case i && o:
		return strconv.Itoa(r.EpochsCrossed)
	case i:
		return "initiator only"
	case o:
		return "responder only"
	}
	return "-"
}

// Failed reports whether any result is an unexpected failure.
func Failed(results []Result) bool {
	for _, r := range results {
		if r.Outcome == OutcomeFail {
			return true
		}
	}
	return false
}

// WriteText writes results as an aligned table, one run per line.
func WriteText(w io.Writer, results []Result) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SCENARIO\tMODE\tINITIATOR\tRESPONDER\tOUTCOME\tMESSAGES\tSPQR EPOCHS\tSECONDS\tDETAIL")
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%.2f\t%s\n",
			r.Scenario, r.Mode, r.Initiator, r.Responder, r.Outcome, r.Messages, r.SPQRSummary(), r.Seconds, r.Detail)
	}
	return tw.Flush()
}

// WriteJSON writes results as a JSON array.
func WriteJSON(w io.Writer, results []Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if results == nil {
		results = []Result{}
	}
	return enc.Encode(results)
}

// Tally counts results by outcome, for a one-line summary.
func Tally(results []Result) string {
	n := map[Outcome]int{}
	for _, r := range results {
		n[r.Outcome]++
	}
	return fmt.Sprintf("%d runs: %d pass, %d fail, %d known defect, %d known incompatible, %d unsupported",
		len(results), n[OutcomePass], n[OutcomeFail], n[OutcomeKnownDefect], n[OutcomeKnownIncompatible], n[OutcomeUnsupported])
}
