package main

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	countytowns "github.com/fengdu-county/casework/domain/towns"

	"github.com/google/uuid"
	"google.golang.org/genproto/googleapis/type/date"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/idnumber"
)

// The county the benchmark loads is synthetic but shaped like Fengdu's: 30
// towns of very different size, families of servicemembers and veterans with
// spouses, children and parents, and six years of cases of all four kinds
// whose statuses depend on their age. Everything derives from a seed, and
// each case from the seed and its index alone, so a case can be generated
// again (for its history rows) without keeping a million of them in memory.

// town is one of the county's towns and sub-districts.
type town struct {
	code, name string
	weight     float64 // share of the county's families
}

// towns are the county's own (domain/towns), with their share of the
// families: the county seat (名山街道) is far larger than the mountain
// townships, as in the real county.
var towns = func() []town {
	share := map[string]float64{"名山街道": 15, "三合街道": 8, "高家镇": 6}
	list := countytowns.Default().List()
	out := make([]town, len(list))
	for i, t := range list {
		w, ok := share[t.Name]
		if !ok {
			w = 71.0 / float64(len(list)-len(share))
		}
		out[i] = town{code: t.Code, name: t.Name, weight: w}
	}
	return out
}()

// listTown is the town of the list benchmark's filter: the county seat,
// where the caseload is largest.
var listTown = towns[slices.IndexFunc(towns, func(t town) bool { return t.name == "名山街道" })].code

const countyRegion = "500230" // the region code of the county's ID numbers

type household struct {
	id                                 uuid.UUID
	town                               int
	name, idNumber                     string
	branch, rank, post, unit, category string
	status                             domain.ServiceStatus
	decorated                          bool
	address, phone                     string
	hardship                           bool
	hardshipNote                       string
	created                            time.Time
	members                            []member
	priority                           domain.Priority
	priorityReasons                    string
	enrollmentBasis                    pb.EnrollmentPriorityBasis
}

type member struct {
	id           uuid.UUID
	relation     domain.Relation
	name         string
	idNumber     string
	birth        time.Time // midnight UTC
	phone        string
	accompanying bool
	created      time.Time
}

// memberRef points at a member of a household of the county.
type memberRef struct {
	h int32
	m int16
}

// county is the generated register and what case generation needs of it.
type county struct {
	seed       uint64
	now        time.Time
	households []household
	// Candidate subjects by the kind of case they can be the subject of.
	spouses, children, parents, everyone []memberRef
	// subjects are the members loaded cases may be for: everyone but the
	// reserve (nil: everyone).
	subjects []memberRef
	// reserve are spouses of households no loaded case is for, kept for
	// the create measurements: a member has one open case of a kind
	// (OPEN_CASE_PER_KIND), so each create needs a spouse of its own.
	reserve []memberRef
	ids     *idNumbers
}

// reserveFrom keeps the households from index n on out of the loaded
// cases: their spouses become the reserve.
func (c *county) reserveFrom(n int) {
	keep := func(refs []memberRef) []memberRef {
		var out []memberRef
		for _, r := range refs {
			if int(r.h) < n {
				out = append(out, r)
			}
		}
		return out
	}
	for _, r := range c.spouses {
		if int(r.h) >= n {
			c.reserve = append(c.reserve, r)
		}
	}
	c.spouses, c.children, c.parents, c.subjects = keep(c.spouses), keep(c.children), keep(c.parents), keep(c.everyone)
}

// member resolves a reference.
func (c *county) member(r memberRef) (*household, *member) {
	h := &c.households[r.h]
	return h, &h.members[r.m]
}

// idNumbers hands out valid, distinct ID numbers: one sequence per birth
// date and sex, and another region code when a date's sequences run out.
type idNumbers struct{ used map[[2]int]int }

var regions = []string{countyRegion, "500101", "500102", "500233", "500234", "500235", "500236", "500237"}

func (g *idNumbers) next(birth time.Time, male bool) string {
	parity := 0
	if male {
		parity = 1
	}
	k := [2]int{int(birth.Unix() / 86400), parity}
	n := g.used[k]
	g.used[k] = n + 1
	region := regions[(n/500)%len(regions)]
	return idnumber.Make(region, birth, 2*(n%500)+parity)
}

// uuidAt is a version 7 UUID for the instant t, as the server would have
// made at that moment, with its random bits from rng.
func uuidAt(t time.Time, rng *rand.Rand) uuid.UUID {
	var u uuid.UUID
	binary.BigEndian.PutUint64(u[0:8], rng.Uint64())
	binary.BigEndian.PutUint64(u[8:16], rng.Uint64())
	ms := uint64(t.UnixMilli())
	u[0], u[1], u[2], u[3], u[4], u[5] = byte(ms>>40), byte(ms>>32), byte(ms>>24), byte(ms>>16), byte(ms>>8), byte(ms)
	u[6] = 0x70 | u[6]&0x0f
	u[8] = 0x80 | u[8]&0x3f
	return u
}

// weighted picks an index with probability proportional to its weight.
func weighted(rng *rand.Rand, weights ...float64) int {
	total := 0.0
	for _, w := range weights {
		total += w
	}
	x := rng.Float64() * total
	for i, w := range weights {
		if x < w {
			return i
		}
		x -= w
	}
	return len(weights) - 1
}

var (
	surnames   = []rune("王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾萧田董潘袁蔡蒋余于杜叶程魏苏吕丁任卢姚沈钟姜崔谭陆范汪廖石金韦贾夏付方邹熊白孟秦邱侯江尹薛闫段雷龙黎史陶贺毛郝顾龚邵万覃武钱戴严欧莫孔向汤")
	givenChars = []rune("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏飞建国志文斌海波宇浩然子涵欣怡梓轩雨泽思彤一诺佳琪俊杰晨曦天佑嘉怡瑞霖博文")
)

func chineseName(rng *rand.Rand) string {
	var b strings.Builder
	b.WriteRune(surnames[rng.IntN(len(surnames))])
	for range 1 + rng.IntN(2) {
		b.WriteRune(givenChars[rng.IntN(len(givenChars))])
	}
	return b.String()
}

func mobile(rng *rand.Rand) string {
	return fmt.Sprintf("1%c%09d", "35789"[rng.IntN(5)], rng.IntN(1_000_000_000))
}

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// between is a uniformly random instant in [a, b).
func between(rng *rand.Rand, a, b time.Time) time.Time {
	if !b.After(a) {
		return a
	}
	return a.Add(time.Duration(rng.Int64N(int64(b.Sub(a))))).Truncate(time.Microsecond)
}

func birthBetween(rng *rand.Rand, a, b time.Time) time.Time {
	t := between(rng, a, b).UTC()
	return day(t.Year(), t.Month(), t.Day())
}

var (
	categories = []domain.Category{domain.CategoryActiveDutyFamily, domain.CategoryVeteran, domain.CategoryMartyrFamily,
		domain.CategoryMeritorious, domain.CategoryOtherEntitled}
	categoryWeights = []float64{62, 20, 3, 6, 9}
	posts           = []domain.PostType{domain.PostBorderCoastalDefence, domain.PostMissionUnit, domain.PostHardshipArea, domain.PostRegular}
	postWeights     = []float64{8, 10, 12, 70}
	branches        = []string{"ARMY", "NAVY", "AIR_FORCE", "ROCKET_FORCE", "STRATEGIC_SUPPORT", "ARMED_POLICE", "OTHER"}
	branchWeights   = []float64{50, 10, 12, 8, 5, 12, 3}
	// Civilian personnel (文职人员) are not servicemembers: no status of the
	// register fits them, so the county has none.
	ranks         = []string{"OFFICER", "NCO", "CONSCRIPT"}
	rankWeights   = []float64{25, 57, 18}
	hardshipNotes = []string{"家庭成员重病", "因灾致困", "子女多就学负担重", "配偶无固定收入"}
)

// registerStart and registerEnd bound when the county's families were
// registered; cases start after them.
var (
	registerStart = time.Date(2019, 1, 2, 9, 0, 0, 0, domain.ChinaTime)
	registerEnd   = time.Date(2020, 12, 20, 18, 0, 0, 0, domain.ChinaTime)
	casesStart    = time.Date(2021, 1, 4, 9, 0, 0, 0, domain.ChinaTime)
)

// newCounty generates households (with members) of the register.
func newCounty(seed uint64, households int, now time.Time) *county {
	c := &county{seed: seed, now: now.UTC(), ids: &idNumbers{used: map[[2]int]int{}}}
	rng := rand.New(rand.NewPCG(seed, 0x686f757365686f6c))
	townWeights := townWeightsOf()
	c.households = make([]household, households)
	for i := range c.households {
		h := &c.households[i]
		created := between(rng, registerStart, registerEnd)
		c.fillHousehold(rng, h, weighted(rng, townWeights...), created)
		h.members = c.members(rng, h, created)
		for m := range h.members {
			ref := memberRef{int32(i), int16(m)}
			c.everyone = append(c.everyone, ref)
			switch h.members[m].relation {
			case domain.RelationSpouse:
				c.spouses = append(c.spouses, ref)
			case domain.RelationChild:
				c.children = append(c.children, ref)
			case domain.RelationFather, domain.RelationMother:
				c.parents = append(c.parents, ref)
			}
		}
	}
	return c
}

// fillHousehold makes a household of a servicemember or veteran, without
// members. The batch import uses it too, for households the server creates.
func (c *county) fillHousehold(rng *rand.Rand, h *household, townIdx int, created time.Time) {
	h.id = uuidAt(created, rng)
	h.town = townIdx
	h.created = created.UTC()
	male := rng.IntN(10) != 0
	birth := birthBetween(rng, day(1966, 1, 1), day(2004, 1, 1))
	h.name = chineseName(rng)
	h.idNumber = c.ids.next(birth, male)
	h.branch = branches[weighted(rng, branchWeights...)]
	h.rank = ranks[weighted(rng, rankWeights...)]
	post := posts[weighted(rng, postWeights...)]
	h.post = string(post)
	h.unit = fmt.Sprintf("%05d部队", 31000+rng.IntN(66000))
	category := categories[weighted(rng, categoryWeights...)]
	h.category = string(category)
	// The status the category and rank say; the other entitled are the
	// survivors of servicemembers who died of illness.
	st, decorated, ok := domain.StatusFromCategory(category, domain.Rank(h.rank))
	if !ok {
		st = domain.ServiceDiedOfIllness
	}
	h.status, h.decorated = st, decorated
	t := towns[townIdx]
	h.address = fmt.Sprintf("%s%d社区%d号", t.name, 1+rng.IntN(12), 1+rng.IntN(400))
	if rng.IntN(10) != 0 {
		h.phone = mobile(rng)
	}
	if rng.IntN(100) < 8 {
		h.hardship = true
		h.hardshipNote = hardshipNotes[rng.IntN(len(hardshipNotes))]
	}
	p, reasons, _ := domain.ComputePriority(h.facts())
	names := make([]string, len(reasons))
	for i, r := range reasons {
		names[i] = string(r)
	}
	h.priority, h.priorityReasons = p, strings.Join(names, ",")
	switch {
	case category == domain.CategoryMartyrFamily:
		h.enrollmentBasis = pb.EnrollmentPriorityBasis_ENROLLMENT_PRIORITY_BASIS_MARTYR_CHILD
	case post == domain.PostBorderCoastalDefence || post == domain.PostHardshipArea:
		h.enrollmentBasis = pb.EnrollmentPriorityBasis_ENROLLMENT_PRIORITY_BASIS_BORDER_HARDSHIP_POST
	case category == domain.CategoryMeritorious:
		h.enrollmentBasis = pb.EnrollmentPriorityBasis_ENROLLMENT_PRIORITY_BASIS_MERITORIOUS
	default:
		h.enrollmentBasis = pb.EnrollmentPriorityBasis_ENROLLMENT_PRIORITY_BASIS_ACTIVE_DUTY
	}
}

// servicememberBirth reads the birth date back from the ID number.
func servicememberBirth(h *household) time.Time {
	info, err := idnumber.Parse(h.idNumber, time.Now())
	if err != nil {
		panic("bench: generated an invalid ID number")
	}
	return info.BirthDate
}

func (c *county) members(rng *rand.Rand, h *household, created time.Time) []member {
	smBirth := servicememberBirth(h)
	latest := c.now.AddDate(0, -1, 0)
	var out []member
	add := func(rel domain.Relation, birth time.Time, male bool, idShare, phoneShare int, accompanying bool) {
		if birth.After(latest) {
			return
		}
		m := member{relation: rel, name: chineseName(rng), birth: birth, accompanying: accompanying}
		m.created = created.Add(time.Duration(1+rng.IntN(3600*48)) * time.Second).UTC().Truncate(time.Microsecond)
		m.id = uuidAt(m.created, rng)
		if rng.IntN(100) < idShare {
			m.idNumber = c.ids.next(birth, male)
		}
		if rng.IntN(100) < phoneShare {
			m.phone = mobile(rng)
		}
		out = append(out, m)
	}
	if rng.IntN(100) < 80 {
		add(domain.RelationSpouse, birthBetween(rng, smBirth.AddDate(-5, 0, 0), smBirth.AddDate(5, 0, 0)),
			rng.IntN(10) == 0, 95, 85, rng.IntN(100) < 35)
	}
	for range weighted(rng, 20, 40, 30, 10) {
		add(domain.RelationChild, birthBetween(rng, smBirth.AddDate(22, 0, 0), smBirth.AddDate(40, 0, 0)),
			rng.IntN(2) == 0, 85, 0, false)
	}
	if rng.IntN(100) < 55 {
		add(domain.RelationFather, birthBetween(rng, smBirth.AddDate(-38, 0, 0), smBirth.AddDate(-22, 0, 0)), true, 90, 40, false)
	}
	if rng.IntN(100) < 55 {
		add(domain.RelationMother, birthBetween(rng, smBirth.AddDate(-36, 0, 0), smBirth.AddDate(-20, 0, 0)), false, 90, 40, false)
	}
	if rng.IntN(100) < 3 {
		add(domain.RelationOther, birthBetween(rng, smBirth.AddDate(-20, 0, 0), smBirth.AddDate(10, 0, 0)),
			rng.IntN(2) == 0, 80, 50, rng.IntN(2) == 0)
	}
	return out
}

// newImportHousehold makes the i-th household of the batch import: a new
// registration, with ID numbers distinct from the register's, and a name
// of three given characters, which no one of the register has (they have
// one or two): the import's items go through the possible-duplicate check
// unconfirmed, and a nightly file of new people should pass it.
func (c *county) newImportHousehold(i int) *household {
	rng := rand.New(rand.NewPCG(c.seed^0x696d706f7274, uint64(i)))
	h := &household{}
	c.fillHousehold(rng, h, weighted(rng, townWeightsOf()...), c.now)
	h.name = string(surnames[rng.IntN(len(surnames))]) + string([]rune{
		givenChars[rng.IntN(len(givenChars))], givenChars[rng.IntN(len(givenChars))], givenChars[rng.IntN(len(givenChars))]})
	return h
}

func townWeightsOf() []float64 {
	out := make([]float64, len(towns))
	for i, t := range towns {
		out[i] = t.weight
	}
	return out
}

// generated is one case of the fixture: the row and its history, as the
// server would have written them through the API over the case's life.
type generated struct {
	id              uuid.UUID
	caseNumber      string
	household       *household
	subject         *member
	kind            domain.Kind
	details         string
	placementYear   *int
	status          domain.Status
	assignee        string
	priority        int
	priorityReasons string
	dueTime         *time.Time
	outcomeResult   string
	outcomeSummary  string
	statusReason    string
	creator         string
	revision        int64
	createTime      time.Time
	updateTime      time.Time
	submitTime      *time.Time
	resolveTime     *time.Time
	history         []historyRow
}

type historyRow struct {
	time                                  time.Time
	actor, method, from, to, fields, note string
}

// caseSchedule places n cases between casesStart and now, more in later
// years (the county's caseload has grown), strictly in index order, so that
// case numbers, which the server hands out in creation order, follow the
// index within each year.
type caseSchedule struct {
	n          int
	start, end time.Time
	firstOf    map[int]int // year -> index of its first case
	lastOf     map[int]int
}

func newSchedule(n int, now time.Time) *caseSchedule {
	s := &caseSchedule{n: n, start: casesStart, end: now.Add(-2 * time.Hour), firstOf: map[int]int{}, lastOf: map[int]int{}}
	for y := casesStart.Year(); y <= now.In(domain.ChinaTime).Year()+1; y++ {
		// The first index whose time (with the largest jitter, or the
		// smallest) falls in year y: a binary search over the monotone
		// schedule. Jitter never moves a case past its neighbours, so the
		// boundary is exact once computed with the case's own jitter.
		bound := time.Date(y, 1, 1, 0, 0, 0, 0, domain.ChinaTime)
		lo, hi := 0, n
		for lo < hi {
			mid := (lo + hi) / 2
			if s.at(mid, s.jitter(mid)).Before(bound) {
				lo = mid + 1
			} else {
				hi = mid
			}
		}
		if lo < n {
			s.firstOf[y] = lo
		}
	}
	for y, first := range s.firstOf {
		last := n - 1
		if next, ok := s.firstOf[y+1]; ok {
			last = next - 1
		}
		if last >= first {
			s.lastOf[y] = last
		} else {
			delete(s.firstOf, y)
		}
	}
	return s
}

// jitter is the case's offset within its slot, from its own generator.
func (s *caseSchedule) jitter(i int) float64 {
	return rand.New(rand.NewPCG(uint64(i), 0x6a6974746572)).Float64()
}

func (s *caseSchedule) at(i int, jitter float64) time.Time {
	frac := math.Sqrt((float64(i) + jitter) / float64(s.n))
	return s.start.Add(time.Duration(frac * float64(s.end.Sub(s.start)))).UTC().Truncate(time.Microsecond)
}

// number is the case number the server would have given case i.
func (s *caseSchedule) number(i int, t time.Time) string {
	y := t.In(domain.ChinaTime).Year()
	return domain.CaseNumber("FD", y, i-s.firstOf[y]+1)
}

var kinds = []domain.Kind{domain.KindSchoolEnrollment, domain.KindEmploymentPlacement, domain.KindElderMedicalHelp, domain.KindLegalAid}

// statusByAge: young cases are still open, old ones mostly closed.
func statusByAge(rng *rand.Rand, age time.Duration) domain.Status {
	const d = 24 * time.Hour
	switch {
	case age < 14*d:
		return []domain.Status{domain.StatusDraft, domain.StatusSubmitted, domain.StatusAccepted, domain.StatusInProgress,
			domain.StatusWithdrawn}[weighted(rng, 15, 45, 20, 15, 5)]
	case age < 90*d:
		return []domain.Status{domain.StatusDraft, domain.StatusSubmitted, domain.StatusAccepted, domain.StatusInProgress,
			domain.StatusResolved, domain.StatusClosed, domain.StatusRejected, domain.StatusWithdrawn}[weighted(rng, 2, 8, 10, 30, 30, 10, 5, 5)]
	}
	return []domain.Status{domain.StatusInProgress, domain.StatusResolved, domain.StatusClosed, domain.StatusRejected,
		domain.StatusWithdrawn}[weighted(rng, 1, 6, 78, 8, 7)]
}

var (
	schools   = []string{"丰都县第一中学", "丰都县实验小学", "丰都中学", "名山小学", "三合小学", "丰都县机关幼儿园", "丰都县第二中学", "高家镇中心小学"}
	hospitals = []string{"丰都县人民医院", "丰都县中医院", "重庆医科大学附属第一医院", "陆军特色医学中心"}
	employers = []string{"丰都县人民政府办公室", "国网丰都供电公司", "丰都县农商银行", "中国邮政丰都分公司", "丰都县人民医院", "县城投集团"}
	positions = []string{"办事员", "会计", "柜员", "护士", "文员", "营业员"}
	lawFirms  = []string{"丰都县法律援助中心", "重庆丰都律师事务所", "名山司法所"}
	needs     = []string{"需转诊至市级医院", "需陪同就医", "住院费用困难", "慢性病长期用药"}
	matters   = []string{"劳动报酬纠纷", "房屋租赁纠纷", "交通事故赔偿", "婚姻家庭纠纷", "土地承包纠纷"}
)

func schoolStage(age int) pb.SchoolStage {
	switch {
	case age < 6:
		return pb.SchoolStage_SCHOOL_STAGE_KINDERGARTEN
	case age < 12:
		return pb.SchoolStage_SCHOOL_STAGE_PRIMARY
	case age < 15:
		return pb.SchoolStage_SCHOOL_STAGE_JUNIOR_HIGH
	}
	return pb.SchoolStage_SCHOOL_STAGE_SENIOR_HIGH
}

// detailsJSON stores details as the server does: protojson, proto names.
var detailsJSON = protojson.MarshalOptions{UseProtoNames: true}

// caseworker and supervisor name the people who worked a town's cases.
func caseworker(rng *rand.Rand, h *household) string {
	return fmt.Sprintf("caseworker-%s-%02d", towns[h.town].code[6:], 1+rng.IntN(3))
}

func supervisor(rng *rand.Rand) string { return fmt.Sprintf("supervisor-%02d", 1+rng.IntN(4)) }

// pickSubject chooses the subject of a case of kind created at t, or
// reports false when none of the sampled candidates fits the rules.
func (c *county) pickSubject(rng *rand.Rand, kind domain.Kind, t time.Time) (memberRef, bool) {
	var pool []memberRef
	switch kind {
	case domain.KindSchoolEnrollment:
		pool = c.children
	case domain.KindEmploymentPlacement:
		pool = c.spouses
	case domain.KindElderMedicalHelp:
		pool = c.parents
	default:
		pool = c.everyone
		if c.subjects != nil {
			pool = c.subjects
		}
	}
	if len(pool) == 0 {
		return memberRef{}, false
	}
	for range 12 {
		ref := pool[rng.IntN(len(pool))]
		h, m := c.member(ref)
		if m.created.Before(t) && eligible(h, m, kind, t) == nil {
			return ref, true
		}
	}
	return memberRef{}, false
}

// eligible applies the server's eligibility rules to a generated subject of
// a case of kind opened at t: the generator opens only cases the server
// would.
func eligible(h *household, m *member, kind domain.Kind, t time.Time) error {
	s := domain.Subject{Relation: m.relation, BirthDate: m.birth, Accompanying: m.accompanying}
	_, err := domain.CheckEligibility(h.facts(), s, domain.Request{Kind: kind}, t.In(domain.ChinaTime))
	return err
}

// facts is what the rules read of a generated household, as the server
// reads the stored one: the status its category and rank say.
func (h *household) facts() domain.Household {
	return domain.Household{Status: h.status, Post: domain.PostType(h.post), Decorated: h.decorated, Hardship: h.hardship}
}

// caseAt generates case i of the schedule. It depends only on the county,
// the seed and i.
func (c *county) caseAt(s *caseSchedule, i int) *generated {
	rng := rand.New(rand.NewPCG(c.seed, uint64(i)+1<<40))
	created := s.at(i, s.jitter(i))
	kind := kinds[weighted(rng, 30, 25, 25, 20)]
	ref, ok := c.pickSubject(rng, kind, created)
	if !ok {
		kind = domain.KindLegalAid
		if ref, ok = c.pickSubject(rng, kind, created); !ok {
			panic("bench: no member can be the subject of a legal aid case")
		}
	}
	h, m := c.member(ref)
	g := &generated{
		id: uuidAt(created, rng), caseNumber: s.number(i, created), household: h, subject: m, kind: kind,
		priority: int(h.priority), priorityReasons: h.priorityReasons, createTime: created,
	}
	worker := caseworker(rng, h)
	g.creator = worker
	status := statusByAge(rng, c.now.Sub(created))
	// The path through the state machine that ends in status.
	var path []domain.Action
	switch status {
	case domain.StatusSubmitted:
		path = []domain.Action{domain.ActionSubmit}
	case domain.StatusAccepted:
		path = []domain.Action{domain.ActionSubmit, domain.ActionAccept}
	case domain.StatusInProgress:
		path = []domain.Action{domain.ActionSubmit, domain.ActionAccept, domain.ActionAssign, domain.ActionStart}
	case domain.StatusResolved:
		path = []domain.Action{domain.ActionSubmit, domain.ActionAccept, domain.ActionAssign, domain.ActionStart, domain.ActionResolve}
	case domain.StatusClosed:
		path = []domain.Action{domain.ActionSubmit, domain.ActionAccept, domain.ActionAssign, domain.ActionStart, domain.ActionResolve, domain.ActionClose}
	case domain.StatusRejected:
		path = []domain.Action{domain.ActionSubmit, domain.ActionReject}
	case domain.StatusWithdrawn:
		path = [][]domain.Action{{domain.ActionWithdraw}, {domain.ActionSubmit, domain.ActionWithdraw},
			{domain.ActionSubmit, domain.ActionAccept, domain.ActionWithdraw}}[rng.IntN(3)]
	}
	if status == domain.StatusAccepted && rng.IntN(10) < 6 {
		path = append(path, domain.ActionAssign)
	}
	achieved := pb.OutcomeResult([]int{1, 2, 3}[weighted(rng, 80, 10, 10)])

	// Details as opened, and the outcome fields recorded before resolving.
	detail, outcomePaths := c.details(rng, g, achieved)

	now := created
	step := func(min, max time.Duration) time.Time {
		next := now.Add(min + time.Duration(rng.Int64N(int64(max-min)+1)))
		if limit := c.now.Add(-time.Hour); next.After(limit) {
			next = now.Add(time.Duration(rng.Float64() * float64(limit.Sub(now))))
		}
		now = next.Truncate(time.Microsecond)
		return now
	}
	const d = 24 * time.Hour
	g.history = append(g.history, historyRow{time: created, actor: worker, method: "CreateCase", to: string(domain.StatusDraft)})
	st := domain.StatusDraft
	for _, a := range path {
		to, err := domain.Transition(st, a)
		if err != nil {
			panic("bench: generated an illegal transition: " + err.Error())
		}
		row := historyRow{actor: worker, from: string(st), to: string(to)}
		if st != to {
			row.fields = "status"
		}
		switch a {
		case domain.ActionSubmit:
			t := step(time.Minute, 2*d)
			row.time, row.method = t, "SubmitCase"
			row.fields += ",submit_time,due_time,priority"
			schoolYear := ""
			if se, ok := detail.(*pb.SchoolEnrollment); ok {
				schoolYear = se.GetSchoolYear()
			}
			due := domain.DefaultDeadlines().Submitted(kind, t, schoolYear, 0).Due().Truncate(time.Microsecond)
			g.submitTime, g.dueTime = &t, &due
		case domain.ActionAccept:
			row.time, row.method, row.actor = step(time.Hour, 5*d), "AcceptCase", supervisor(rng)
		case domain.ActionAssign:
			row.time, row.method, row.actor = step(time.Minute, d), "AssignCase", supervisor(rng)
			row.fields = "assignee"
			g.assignee = worker
		case domain.ActionStart:
			row.time, row.method = step(time.Minute, 2*d), "StartCase"
		case domain.ActionResolve:
			if len(outcomePaths) > 0 {
				// The outcome fields are recorded with UpdateCase first.
				t := step(d, 20*d)
				g.history = append(g.history, historyRow{time: t, actor: worker, method: "UpdateCase",
					from: string(st), to: string(st), fields: strings.Join(outcomePaths, ",")})
				detail = c.withOutcome(rng, detail)
			}
			t := step(time.Minute, d)
			row.time, row.method = t, "ResolveCase"
			row.fields += ",outcome,resolve_time"
			g.outcomeResult = strings.TrimPrefix(achieved.String(), "OUTCOME_RESULT_")
			g.outcomeSummary = outcomeSummary(achieved)
			g.resolveTime = &t
		case domain.ActionClose:
			row.time, row.method, row.actor = step(d, 14*d), "CloseCase", supervisor(rng)
		case domain.ActionReject:
			row.time, row.method, row.actor = step(time.Hour, 5*d), "RejectCase", supervisor(rng)
			row.note = "不符合申请条件"
			row.fields += ",status_reason"
			g.statusReason = row.note
		case domain.ActionWithdraw:
			row.time, row.method = step(time.Hour, 10*d), "WithdrawCase"
			row.note = "申请人主动撤回"
			row.fields += ",status_reason"
			g.statusReason = row.note
		}
		g.history = append(g.history, row)
		st = to
	}
	g.status = st
	raw, err := detailsJSON.Marshal(detail)
	if err != nil {
		panic(err)
	}
	g.details = string(raw)
	if ep, ok := detail.(*pb.EmploymentPlacement); ok && ep.GetPlacementYear() != 0 {
		y := int(ep.GetPlacementYear())
		g.placementYear = &y
	}
	g.revision = int64(len(g.history))
	g.updateTime = g.history[len(g.history)-1].time
	return g
}

func outcomeSummary(r pb.OutcomeResult) string {
	switch r {
	case pb.OutcomeResult_OUTCOME_RESULT_ACHIEVED:
		return "已按优待政策办结"
	case pb.OutcomeResult_OUTCOME_RESULT_PARTIALLY_ACHIEVED:
		return "部分诉求已解决"
	}
	return "经核实不符合政策，已告知家属"
}

// details returns the case's details as opened and the paths of the outcome
// fields that an UpdateCase records before the case is resolved.
func (c *county) details(rng *rand.Rand, g *generated, achieved pb.OutcomeResult) (proto.Message, []string) {
	withOutcome := achieved != pb.OutcomeResult_OUTCOME_RESULT_NOT_ACHIEVED
	var paths []string
	pick := func(s []string) string { return s[rng.IntN(len(s))] }
	switch g.kind {
	case domain.KindSchoolEnrollment:
		cst := g.createTime.In(domain.ChinaTime)
		y := cst.Year()
		if cst.Month() >= time.September {
			y++
		}
		age := domain.AgeAt(g.subject.birth, cst)
		if withOutcome {
			paths = []string{"school_enrollment.assigned_school"}
		}
		return &pb.SchoolEnrollment{SchoolStage: schoolStage(age), RequestedSchool: pick(schools),
			PriorityBasis: g.household.enrollmentBasis, SchoolYear: fmt.Sprintf("%d-%d", y, y+1)}, paths
	case domain.KindEmploymentPlacement:
		if withOutcome {
			paths = []string{"employment_placement.employer", "employment_placement.position", "employment_placement.placement_date"}
		}
		return &pb.EmploymentPlacement{PlacementYear: int32(g.createTime.In(domain.ChinaTime).Year()),
			Eligible: rng.IntN(10) != 0, Channel: pb.PlacementChannel(1 + rng.IntN(6))}, paths
	case domain.KindElderMedicalHelp:
		if withOutcome {
			paths = []string{"elder_medical_help.hospital", "elder_medical_help.help_given"}
		}
		return &pb.ElderMedicalHelp{Need: pb.ElderNeed(1 + rng.IntN(5)), NeedDescription: pick(needs)}, paths
	}
	if withOutcome {
		paths = []string{"legal_aid.lawyer_or_institution"}
	}
	return &pb.LegalAid{MatterCategory: pb.LegalMatterCategory(1 + rng.IntN(8)), MatterDescription: pick(matters),
		Stage: pb.LegalStage_LEGAL_STAGE_APPLICATION}, paths
}

// withOutcome fills in the outcome fields of a case's details.
func (c *county) withOutcome(rng *rand.Rand, detail proto.Message) proto.Message {
	pick := func(s []string) string { return s[rng.IntN(len(s))] }
	switch d := detail.(type) {
	case *pb.SchoolEnrollment:
		d.AssignedSchool = d.GetRequestedSchool()
		if rng.IntN(5) == 0 {
			d.AssignedSchool = pick(schools)
		}
	case *pb.EmploymentPlacement:
		d.Employer, d.Position = pick(employers), pick(positions)
		d.PlacementDate = &date.Date{Year: d.GetPlacementYear(), Month: int32(1 + rng.IntN(12)), Day: int32(1 + rng.IntN(28))}
	case *pb.ElderMedicalHelp:
		d.Hospital, d.HelpGiven = pick(hospitals), "已协调就医绿色通道"
	case *pb.LegalAid:
		d.LawyerOrInstitution, d.Stage = pick(lawFirms), pb.LegalStage_LEGAL_STAGE_CONCLUDED
	}
	return detail
}
