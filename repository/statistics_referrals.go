package repository

import (
	"context"
	"time"

	"github.com/fengdu-county/casework/domain"
)

// referralStats counts the referrals sent in the period by agency, in the
// towns of their cases: how many were replied to, in how many days, and
// how many wait past their follow-up date now.
func (s *Store) referralStats(ctx context.Context, q StatisticsQuery, out *Statistics) error {
	day := func(t time.Time) string { return t.In(domain.ChinaTime).Format(time.DateOnly) }
	first, last, today := day(q.Period.Start), day(q.Period.End.Add(-time.Nanosecond)), day(q.Now)
	var rows []struct {
		AgencyID        string
		SentDate        string
		ReplyDate       *string
		FollowUpDueDate string
	}
	// Dates are read as text (YYYY-MM-DD…) so that both dialects, and a
	// DATE or a TEXT column, read alike.
	db := inTown(ctx, s.conn(ctx).Table("referrals AS r").Joins("JOIN cases c ON c.id = r.case_id"), "c.town_code", q.Town).
		Where("r.delete_time IS NULL AND r.sent_date >= ? AND r.sent_date <= ?", first, last).
		Select("r.agency_id, CAST(r.sent_date AS TEXT) AS sent_date, CAST(r.reply_date AS TEXT) AS reply_date, " +
			"CAST(r.follow_up_due_date AS TEXT) AS follow_up_due_date").
		Order("r.agency_id")
	if err := db.Scan(&rows).Error; err != nil {
		return err
	}
	byAgency := map[string]*ReferralRow{}
	var order []string
	for _, r := range rows {
		a := byAgency[r.AgencyID]
		if a == nil {
			a = &ReferralRow{AgencyID: r.AgencyID}
			byAgency[r.AgencyID] = a
			order = append(order, r.AgencyID)
		}
		a.Sent++
		switch {
		case r.ReplyDate != nil:
			a.Replied++
			a.ReplyDays = addDays(a.ReplyDays, dateDays(r.SentDate, *r.ReplyDate))
		case dateText(r.FollowUpDueDate) < today:
			a.Overdue++
		}
	}
	for _, id := range order {
		out.Referrals = append(out.Referrals, *byAgency[id])
	}
	return nil
}

func dateText(s string) string {
	if len(s) > len(time.DateOnly) {
		return s[:len(time.DateOnly)]
	}
	return s
}

// dateDays is the days from one YYYY-MM-DD date to another.
func dateDays(from, to string) int {
	a, errA := time.Parse(time.DateOnly, dateText(from))
	b, errB := time.Parse(time.DateOnly, dateText(to))
	if errA != nil || errB != nil {
		return 0
	}
	return int(b.Sub(a) / (24 * time.Hour))
}

func addDays(hist []domain.DaysCount, days int) []domain.DaysCount {
	for i := range hist {
		if hist[i].Days == days {
			hist[i].Count++
			return hist
		}
	}
	return append(hist, domain.DaysCount{Days: days, Count: 1})
}
