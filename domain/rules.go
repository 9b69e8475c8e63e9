package domain

// The rule table: every eligibility, priority, deadline, procedure and
// document rule the server applies, each with its legal source, in one
// place a reader can audit. The code that applies a rule names it by its
// RuleID and returns the ids of the rules that decided (a case's
// policy_basis), so a caseworker can explain a decision and an auditor can
// follow it to the article. TestRuleTable fails if the code names a rule
// the table lacks, or the table holds a rule no code applies; docs/rules.md
// is generated from the table and checked against it.

// RuleID names a rule. Ids are stable: the API returns them.
type RuleID string

// RuleKind says what a rule decides.
type RuleKind string

// The kinds of rule.
const (
	KindEligibility RuleKind = "ELIGIBILITY" // who may have a service
	KindPriority    RuleKind = "PRIORITY"    // who is served first
	KindDeadline    RuleKind = "DEADLINE"    // by when
	KindProcedure   RuleKind = "PROCEDURE"   // how a case moves and what it keeps
	KindDocument    RuleKind = "DOCUMENT"    // what a record or number must be
)

// RuleKinds lists every kind of rule.
func RuleKinds() []RuleKind {
	return []RuleKind{KindEligibility, KindPriority, KindDeadline, KindProcedure, KindDocument}
}

// The sources rules cite.
const (
	LawStatus     = "中华人民共和国军人地位和权益保障法" // the Law on the Status and Rights of Servicemembers (2021)
	LawPension    = "军人抚恤优待条例"          // the Military Pension and Preferential Treatment Regulations (2024, State Council order 788)
	LawLegalAid   = "中华人民共和国法律援助法"      // the Legal Aid Law (2021)
	LawCivilCode  = "中华人民共和国民法典"        // the Civil Code
	LawPIPL       = "中华人民共和国个人信息保护法"    // the Personal Information Protection Law (2021)
	StdIDNumber   = "GB 11643-1999 公民身份号码"
	StdIDNumber89 = "GB 11643-1989 社会保障号码"
	StdRegions    = "GB/T 2260 中华人民共和国行政区划代码"
	CountyPolicy  = "丰都县双拥工作要点（2023）" // the county's work points: county policy, not statute
)

// Source is one place a rule comes from: a law's article (and paragraph or
// item), a standard, or county policy.
type Source struct {
	Law       string
	Article   string // e.g. "第43条"; empty for a standard or county policy
	Paragraph string // e.g. "第2款", "第2项"
	Note      string // what the source says, in a few words
}

// Rule is one row of the table.
type Rule struct {
	ID      RuleID
	Kind    RuleKind
	Sources []Source
	Zh, En  string // a one-line summary
}

// The rules, by id. Each constant is used by the code that applies it.
const (
	// Eligibility: employment placement of accompanying spouses.
	RulePlacementOfficerNCOSpouse  RuleID = "PLACEMENT_OFFICER_NCO_SPOUSE"
	RulePlacementNoConscript       RuleID = "PLACEMENT_NO_CONSCRIPT_SPOUSE"
	RulePlacementApproval          RuleID = "PLACEMENT_ACCOMPANIMENT_APPROVAL"
	RulePlacementSettledAtHome     RuleID = "PLACEMENT_SETTLED_AT_HOME"
	RulePlacementSurvivors         RuleID = "PLACEMENT_SURVIVORS"
	RulePlacementActiveOnly        RuleID = "PLACEMENT_ACTIVE_DUTY_HOUSEHOLD"
	RulePlacementRouteTransfer     RuleID = "PLACEMENT_ROUTE_TRANSFER"
	RulePlacementRouteExchange     RuleID = "PLACEMENT_ROUTE_EXCHANGE"
	RulePlacementRouteServices     RuleID = "PLACEMENT_ROUTE_EMPLOYMENT_SERVICES"
	RulePlacementRouteMutualChoice RuleID = "PLACEMENT_ROUTE_MUTUAL_CHOICE"
	RulePlacementTargeted          RuleID = "PLACEMENT_TARGETED_RECRUITMENT"
	RulePlacementDecision          RuleID = "PLACEMENT_ELIGIBILITY_DECIDED"
	// Eligibility: children's schooling.
	RuleSchoolChild          RuleID = "SCHOOL_CHILD"
	RuleSchoolPlaceChoice    RuleID = "SCHOOL_PLACE_CHOICE"
	RuleSchoolPriorityEqual  RuleID = "SCHOOL_PRIORITY_EQUAL_CONDITIONS"
	RuleSchoolSurvivorChild  RuleID = "SCHOOL_SURVIVOR_CHILD"
	RuleSchoolBorderBasis    RuleID = "SCHOOL_BORDER_HARDSHIP_BASIS"
	RuleSchoolBasisMatchesHH RuleID = "SCHOOL_BASIS_FROM_HOUSEHOLD"
	// Eligibility: elders' medical help.
	RuleElderParents    RuleID = "ELDER_PARENTS_AND_CARERS"
	RuleElderPriority   RuleID = "ELDER_MEDICAL_PRIORITY"
	RuleElderCostHelp   RuleID = "ELDER_COST_HELP"
	RuleMedicalSurvivor RuleID = "ELDER_SURVIVOR_FAMILY"
	// Eligibility: legal aid.
	RuleLegalAidAnyMember     RuleID = "LEGAL_AID_ANY_MEMBER"
	RuleLegalAidPriority      RuleID = "LEGAL_AID_PRIORITY"
	RuleLegalAidNoHardshipChk RuleID = "LEGAL_AID_HARDSHIP_NOT_CHECKED"
	RuleLegalAidMartyrRights  RuleID = "LEGAL_AID_MARTYR_RELATIVES"

	// Priority tiers.
	RulePriorityMartyrDiedOnDuty RuleID = "PRIORITY_MARTYR_DIED_ON_DUTY"
	RulePriorityBorderIsland     RuleID = "PRIORITY_BORDER_ISLAND"
	RulePriorityMission          RuleID = "PRIORITY_MISSION_UNIT"
	RulePriorityHardshipPost     RuleID = "PRIORITY_HARDSHIP_SPECIAL_POST"
	RulePriorityHardshipHH       RuleID = "PRIORITY_HARDSHIP_HOUSEHOLD"
	RulePriorityDecorated        RuleID = "PRIORITY_DECORATED"
	RulePriorityDisabled         RuleID = "PRIORITY_DISABLED"
	RulePriorityDiedOfIllness    RuleID = "PRIORITY_DIED_OF_ILLNESS"

	// Deadlines.
	RuleLegalAidDecision   RuleID = "LEGAL_AID_DECISION_7D"
	RuleLegalAidAssign     RuleID = "LEGAL_AID_ASSIGN_3D"
	RuleLegalAidMaterials  RuleID = "LEGAL_AID_MATERIALS_ONCE"
	RuleLegalAidUrgent     RuleID = "LEGAL_AID_URGENT_FIRST"
	RuleLegalAidObjection  RuleID = "LEGAL_AID_OBJECTION_5D"
	RuleDayCounting        RuleID = "DAY_COUNTING_CIVIL_CODE"
	RuleElderTarget        RuleID = "ELDER_SERVICE_TARGET"
	RuleSchoolTarget       RuleID = "SCHOOL_SERVICE_TARGET"
	RulePlacementPlanEnd   RuleID = "PLACEMENT_PLAN_END"
	RuleMaterialsWithdrawn RuleID = "LEGAL_AID_MATERIALS_WITHDRAWN"
	// Deadlines of the ledgers.
	RuleContactBorderMission RuleID = "LEDGER_CONTACT_BORDER_MISSION"
	RuleContactHardship      RuleID = "LEDGER_CONTACT_HARDSHIP"
	RuleMeasureReview        RuleID = "MEASURE_REVIEW_PERIOD"

	// Procedure.
	RuleLegalAidTermination RuleID = "LEGAL_AID_TERMINATION"
	RuleRejectAfterAccept   RuleID = "REJECT_AFTER_ACCEPT_REASON"
	RuleReopenKeepsOutcome  RuleID = "REOPEN_KEEPS_OUTCOME"
	RuleWithdrawalReason    RuleID = "WITHDRAWAL_REASON"
	RuleStatusChangeReprio  RuleID = "STATUS_CHANGE_REEVALUATES_PRIORITY"
	RuleCaseHold            RuleID = "CASE_HOLD"
	RuleHoldStatutory       RuleID = "CASE_HOLD_STATUTORY_CLOCKS"
	// Procedure of the ledgers.
	RuleCampaignTargetsFrozen   RuleID = "CAMPAIGN_TARGETS_FROZEN"
	RuleCampaignGapReasons      RuleID = "CAMPAIGN_GAP_REASONS"
	RuleCampaignOneVisit        RuleID = "CAMPAIGN_ONE_VISIT"
	RuleMeasureEntryExit        RuleID = "MEASURE_ENTRY_EXIT"
	RuleMeasureAgreementExpired RuleID = "MEASURE_AGREEMENT_EXPIRED"
	RuleMeasureComplaintUpheld  RuleID = "MEASURE_COMPLAINT_UPHELD"
	RuleRecruitmentPlacement    RuleID = "RECRUITMENT_ACCEPTED_OFFER"
	// Procedure of assignment and intake.
	RuleOneOpenCasePerKind RuleID = "OPEN_CASE_PER_KIND"
	RuleAssigneeTown       RuleID = "ASSIGNEE_TOWN"
	// Procedure of moving and merging households.
	RuleHouseholdTransfer RuleID = "HOUSEHOLD_TRANSFER"
	RuleHouseholdMerge    RuleID = "HOUSEHOLD_MERGE"
	// Deadlines of alerts and referrals.
	RuleCaseAlertWindow  RuleID = "CASE_ALERT_WINDOW"
	RuleReferralFollowUp RuleID = "REFERRAL_FOLLOW_UP"

	// Documents.
	RuleIDNumberCheckDigit RuleID = "ID_NUMBER_GB11643"
	RuleIDNumberRegion     RuleID = "ID_NUMBER_REGION_GBT2260"
	RuleIDNumberLegacy     RuleID = "ID_NUMBER_15_DIGIT"
	RuleIDNumberSex        RuleID = "ID_NUMBER_SEX_MATCHES_RELATION"
	RuleCertificate        RuleID = "PREFERENTIAL_CERTIFICATE"
	RuleTownCode           RuleID = "TOWN_CODE"
	RuleDuplicateIntake    RuleID = "DUPLICATE_INTAKE_CHECK"
	RuleAttachmentFiles    RuleID = "ATTACHMENT_FILES"
)

// Rules is the table, in the order docs/rules.md lists it.
var Rules = []Rule{
	{RulePlacementOfficerNCOSpouse, KindEligibility, []Source{{LawStatus, "第42条", "", "军官和符合规定条件的军士，其配偶可以办理随军落户"}},
		"随军家属就业安置的对象是军官或符合条件的军士的配偶", "Placement is for the spouse of an officer or of an NCO who qualifies to be accompanied"},
	{RulePlacementNoConscript, KindEligibility, []Source{{LawStatus, "第42条", "", "义务兵不在可随军之列"}},
		"义务兵的配偶不能随军，不予受理就业安置", "A conscript's spouse cannot accompany, so no placement case is opened"},
	{RulePlacementApproval, KindEligibility, []Source{{LawPension, "第46条", "第1款", "经军队团级以上单位政治工作部门批准随军"}},
		"随军须有团级以上单位政治工作部门的批准（批准文号、日期、单位）", "Accompaniment needs the approval of a regiment-level political department (number, date, unit)"},
	{RulePlacementSettledAtHome, KindEligibility, []Source{{LawPension, "第48条", "", "符合随军条件无法随军、自愿在原籍安家的边防海岛等部队家属，当地人民政府妥善安置"}},
		"符合随军条件但在原籍安家的边海防、海岛等部队家属，由县政府妥善安置", "Border and island families who qualify to accompany but settle at home are placed by the county"},
	{RulePlacementSurvivors, KindEligibility, []Source{{LawPension, "第46条", "", "烈士遗属、因公牺牲军人遗属优先安置"}, {LawStatus, "第52条至第54条", "", ""}},
		"烈士遗属、因公牺牲军人遗属中的成年家属可优先就业安置", "An adult survivor of a martyr or of a servicemember who died on duty has priority placement"},
	{RulePlacementActiveOnly, KindEligibility, []Source{{LawStatus, "第42条", "", "随军对象为现役军官、军士"}},
		"就业安置只为现役军人家庭和烈士、因公牺牲军人遗属受理", "Placement cases are for active-duty households and the survivors of martyrs and of those who died on duty"},
	{RulePlacementRouteTransfer, KindEligibility, []Source{{LawPension, "第46条", "", "原为公务员的，转任相应职务"}},
		"原为公务员的随军配偶，转任相应职位", "A spouse who was a civil servant is transferred to a matching post (转任)"},
	{RulePlacementRouteExchange, KindEligibility, []Source{{LawPension, "第46条", "", "原为事业单位工作人员的，交流到相应岗位"}},
		"原为事业单位工作人员的随军配偶，交流到相应岗位", "A spouse who worked in a public institution is placed in a matching post by exchange (交流)"},
	{RulePlacementRouteServices, KindEligibility, []Source{{LawPension, "第46条", "", "其他人员提供职业指导、职业介绍、职业培训等就业服务"}},
		"其他随军配偶获得职业指导、职业介绍和职业培训等就业服务", "Other spouses get vocational guidance, job introductions and training"},
	{RulePlacementRouteMutualChoice, KindEligibility, []Source{{LawPension, "第46条", "", "双向选择"}, {LawStatus, "第53条", "", ""}},
		"配偶与用人单位可双向选择其他合适岗位", "Spouse and employer may agree on another suitable post (双向选择)"},
	{RulePlacementTargeted, KindEligibility, []Source{{CountyPolicy, "", "五", "开展\"帮助随军家属就业\"活动，举办定向招聘"}},
		"县级措施：为随军家属举办定向招聘", "County measure: targeted recruitment events for accompanying spouses"},
	{RulePlacementDecision, KindEligibility, []Source{{CountyPolicy, "", "五", "符合当年安置条件的随军家属全部安置"}},
		"安置资格由主管审定，审定后方可以\"已安置\"办结，计入审定年度", "A supervisor decides eligibility before a case can be resolved as achieved; it counts in the year decided"},

	{RuleSchoolChild, KindEligibility, []Source{{LawStatus, "第68条", "", "未成年子女、不能独立生活的成年子女"}, {LawStatus, "第55条", "", ""}},
		"入学优待对象为未满18周岁的子女和不能独立生活的成年子女", "School priority is for children under 18 and adult children who cannot live independently"},
	{RuleSchoolPlaceChoice, KindEligibility, []Source{{LawStatus, "第55条", "", "义务教育和普惠性学前教育可在本人、父母、祖父母、外祖父母或者其他法定监护人户籍所在地，或者父母居住地、部队驻地入学"}},
		"义务教育和普惠性幼儿园可选择入学地点", "Compulsory schooling and inclusive kindergartens: the family chooses the place of enrolment"},
	{RuleSchoolPriorityEqual, KindEligibility, []Source{{LawStatus, "第55条", "", "普通高中、中等职业学校同等条件下优先录取"}},
		"普通高中、中等职业学校同等条件下优先录取", "Senior high and secondary vocational schools: priority admission under equal conditions"},
	{RuleSchoolSurvivorChild, KindEligibility, []Source{{LawStatus, "第55条", "", "烈士、因公牺牲军人子女享受更多优待"}, {LawPension, "第43条", "", ""}},
		"烈士、因公牺牲军人子女在高中及以上阶段享受加分或优先录取", "Martyrs' and died-on-duty children get bonus points or priority admission at higher stages"},
	{RuleSchoolBorderBasis, KindEligibility, []Source{{CountyPolicy, "", "六", "边海防、任务部队官兵家庭"}, {LawPension, "第48条", "", ""}},
		"县级政策：以边海防艰苦岗位为优待依据须有相应岗位", "County policy: a border or hardship-post basis needs such a post"},
	{RuleSchoolBasisMatchesHH, KindEligibility, []Source{{CountyPolicy, "", "", "优待依据由家庭情况得出，不自行填写"}},
		"优待依据由家庭情况得出，与家庭不符的依据不予接受", "The priority basis is derived from the household; one that does not match it is refused"},

	{RuleElderParents, KindEligibility, []Source{{LawStatus, "第68条", "", "军人家属是指配偶、父母（扶养人）"}},
		"看病就医帮扶对象为军人父母和扶养人", "Medical help is for the servicemember's parents and the person who raised them (扶养人)"},
	{RuleElderPriority, KindEligibility, []Source{{LawStatus, "第51条", "", "在军队医疗机构和公立医疗机构就医享受医疗优待"}, {LawPension, "第44条", "第3款", "优先服务"}},
		"军人家属在军队和公立医疗机构就医享受优待和优先服务", "Families get preferential, priority treatment at military and public hospitals"},
	{RuleElderCostHelp, KindEligibility, []Source{{LawPension, "第44条", "第5款", "医疗费用困难补助"}},
		"医疗费用困难者可获补助，以分记录金额及资金来源", "Help with medical costs for hardship, recorded in fen with its source"},
	{RuleMedicalSurvivor, KindEligibility, []Source{{LawStatus, "第68条", "", "遗属包括全部子女和由其承担抚养义务的兄弟姐妹"}},
		"遗属家庭的帮扶对象包括全部子女和受其抚养的兄弟姐妹", "For survivors, all children and dependent siblings are family"},

	{RuleLegalAidAnyMember, KindEligibility, []Source{{LawStatus, "第61条", "", "法律援助机构应当依法优先提供法律援助"}},
		"家庭中任何成员都可申请法律援助", "Any member of the household may apply for legal aid"},
	{RuleLegalAidPriority, KindPriority, []Source{{LawStatus, "第61条", "", "优先提供法律援助"}},
		"军人军属的法律援助申请优先办理", "Legal aid for servicemembers' families is handled first"},
	{RuleLegalAidNoHardshipChk, KindEligibility, []Source{{LawLegalAid, "第42条", "第2项", "优抚对象免予核查经济困难状况"}},
		"优抚对象提交证明材料的，免予核查经济困难状况（记录证据编号）", "An entitled beneficiary who shows proof is not checked for financial hardship (evidence recorded)"},
	{RuleLegalAidMartyrRights, KindEligibility, []Source{{LawLegalAid, "第32条", "第1项", "英雄烈士近亲属维护英雄烈士人格权益不受经济困难条件限制"}},
		"英雄烈士近亲属维护烈士人格权益的，不受经济困难条件限制", "Close relatives protecting a martyr's personality rights need not meet the hardship condition"},

	{RulePriorityMartyrDiedOnDuty, KindPriority, []Source{{LawPension, "第46条", "", "烈士遗属、因公牺牲军人遗属优先"}, {LawStatus, "第55条", "", ""}},
		"烈士、因公牺牲军人家庭的案件列第一优先", "Martyrs' and died-on-duty families' cases come first"},
	{RulePriorityBorderIsland, KindPriority, []Source{{CountyPolicy, "", "六", "边海防、任务部队官兵家庭全覆盖走访和帮扶"}, {LawPension, "第48条", "", ""}},
		"县级政策：边海防、海岛部队家庭列第一优先", "County policy: border, coastal-defence and island families come first"},
	{RulePriorityMission, KindPriority, []Source{{CountyPolicy, "", "六", "任务部队官兵家庭"}},
		"县级政策：执行重大任务、维和及一线作战部队家庭列第二优先", "County policy: families of units on major missions, peacekeeping and front-line combat come second"},
	{RulePriorityHardshipPost, KindPriority, []Source{{CountyPolicy, "", "六", ""}, {LawStatus, "第33条", "", "艰苦边远地区和特殊岗位军人待遇保障从优（军人本人）"}},
		"县级政策：高原艰苦边远地区和特殊岗位（飞行、舰艇、潜艇、特战）家庭列第二优先", "County policy: families of plateau, hardship and special posts (flying, ships, submarines, special operations) come second"},
	{RulePriorityHardshipHH, KindPriority, []Source{{CountyPolicy, "", "六", "困难帮扶"}},
		"县级政策：困难家庭列第二优先", "County policy: households in hardship come second"},
	{RulePriorityDecorated, KindPriority, []Source{{CountyPolicy, "", "", "功臣、英模"}, {LawStatus, "第31条", "", ""}},
		"县级政策：功臣、英模家庭列第二优先", "County policy: decorated servicemembers' families come second"},
	{RulePriorityDisabled, KindPriority, []Source{{LawPension, "第2条", "", "残疾军人是优抚对象"}, {CountyPolicy, "", "", ""}},
		"残疾军人（一至十级）家庭列第二优先", "Families of disabled servicemembers (grades 1 to 10) come second"},
	{RulePriorityDiedOfIllness, KindPriority, []Source{{LawPension, "第2条", "", "病故军人遗属是优抚对象"}, {CountyPolicy, "", "", ""}},
		"病故军人遗属家庭列第二优先", "Survivors of servicemembers who died of illness come second"},

	{RuleLegalAidDecision, KindDeadline, []Source{{LawLegalAid, "第43条", "第1款", "自收到法律援助申请之日起七日内进行审查，作出是否给予法律援助的决定"}},
		"收到完整申请之日起7日内作出是否给予法律援助的决定", "Decide whether to grant aid within 7 days of receiving the complete application"},
	{RuleLegalAidAssign, KindDeadline, []Source{{LawLegalAid, "第43条", "第1款", "决定给予法律援助的，应当自作出决定之日起三日内指派法律援助人员"}},
		"决定给予法律援助之日起3日内指派法律援助人员", "Assign a lawyer within 3 days of deciding to grant aid"},
	{RuleLegalAidMaterials, KindProcedure, []Source{{LawLegalAid, "第43条", "第2款", "一次性告知需要补正的全部内容"}},
		"材料不齐的一次性告知需补正的全部内容，补正期间审查期限停止计算", "Missing materials are listed once; the decision clock stops until they arrive"},
	{RuleMaterialsWithdrawn, KindDeadline, []Source{{LawLegalAid, "第43条", "第2款", "申请人未按要求补正的，视为撤回申请"}},
		"未在期限内补正材料的，视为撤回申请", "Materials not supplied by the set date count as withdrawal"},
	{RuleLegalAidUrgent, KindProcedure, []Source{{LawLegalAid, "第44条", "", "距法定时效或者期限届满不足七日等情形，可以先行提供法律援助"}},
		"时效或期限届满不足7日等紧急情形，可先行提供法律援助", "With under 7 days left before a limitation period ends, aid may begin before the decision"},
	{RuleLegalAidObjection, KindDeadline, []Source{{LawLegalAid, "第49条", "", "司法行政部门应当自收到异议之日起五日内进行审查，作出维持或者责令改正的决定"}},
		"对不予援助或终止援助的异议，自收到之日起5日内作出决定", "An objection to a refusal or a termination is decided within 5 days of receipt"},
	{RuleDayCounting, KindDeadline, []Source{{LawCivilCode, "第201条", "", "开始的当日不计入，自下一日开始计算"}, {LawCivilCode, "第203条", "", "最后一日是法定休假日的，以法定休假日结束的次日为期间的最后一日"}},
		"按日计算的期间，开始当日不计入；最后一日是法定休假日的，顺延至休假日结束的次日", "A period in days starts the next day; when it ends on a rest day it ends the day after the rest days"},
	{RuleElderTarget, KindDeadline, []Source{{CountyPolicy, "", "六", "老人看病就医"}},
		"县级政策：看病就医帮扶的服务时限（默认3日，可配置）", "County policy: the service target for medical help (3 days by default, configurable)"},
	{RuleSchoolTarget, KindDeadline, []Source{{CountyPolicy, "", "六", "子女入学"}},
		"县级政策：入学优待的服务时限（默认30日，且不晚于学年开始前的8月31日）", "County policy: the service target for school enrolment (30 days by default, and no later than 31 August before the school year)"},
	{RulePlacementPlanEnd, KindDeadline, []Source{{CountyPolicy, "", "五", "当年安置计划"}},
		"县级政策：就业安置期限为当年安置计划的截止日期", "County policy: a placement is due by the end of its year's placement plan"},
	{RuleCaseAlertWindow, KindDeadline, []Source{{CountyPolicy, "", "", "服务及时；预警提前量要点未作规定，3日为本县设定"}},
		"县级政策：到期前3日内（可配置）及已逾期的案件向经办人和主管预警，每个案件每个期限各预警一次，阅后确认并记入案件历史", "County policy: cases due within 3 days (configurable) and cases overdue are flagged to their assignee and supervisors, once per case and deadline; the reader acknowledges, and the case's history records it"},
	{RuleReferralFollowUp, KindDeadline, []Source{{CountyPolicy, "", "", "各职能部门协同办理；回复期限由转介时约定，要点未作规定"}},
		"县级政策：转介协办单位须记录约定的跟进日期；过该日仍未回复的转介列入预警", "County policy: a referral to a partner agency records the follow-up date agreed when it is sent; one with no reply after that day is flagged"},
	// The work points ask for regular contact (常态化联系) but set no interval,
	// and no statute sets one: the intervals are the county's own setting.
	{RuleContactBorderMission, KindDeadline, []Source{{CountyPolicy, "", "六", "通过建立台账、开展常态化联系和困难帮扶；联系间隔要点未作规定，季度为本县台账的设定"}},
		"县级政策：边海防和任务部队官兵家庭常态化联系，默认每季度（90日）至少一次，县级主管可调整", "County policy: border/coastal-defence and mission-unit families are contacted regularly, by default at least once a quarter (90 days); a county-wide supervisor may change the interval"},
	{RuleContactHardship, KindDeadline, []Source{{CountyPolicy, "", "六", "为有困难官兵家庭提供精细化精准化服务；联系间隔要点未作规定，每月为本县台账的设定"}},
		"县级政策：困难家庭默认每月（30日）至少联系一次，县级主管可调整；同属多类的取最短间隔", "County policy: households in hardship are contacted at least monthly (30 days) by default, changeable by a county-wide supervisor; a household in several classes takes the shortest interval"},
	{RuleMeasureReview, KindDeadline, []Source{{CountyPolicy, "", "十二", "对签署拥军优抚合作协议的社会企业落实惠军措施情况进行全面清理；复核周期要点未作规定，一年为本县设定"}},
		"县级政策：每项惠军措施须在复核周期内复核（全面清理，默认一年，可配置），复核日期不得晚于当日", "County policy: every measure is reviewed within the review period (全面清理; a year by default, configurable); a review is not dated in the future"},

	{RuleLegalAidTermination, KindProcedure, []Source{{LawLegalAid, "第48条", "", "终止法律援助的情形"}},
		"法律援助按第48条所列情形终止，并记录终止事由", "Aid ends on the grounds Art 48 lists, with the ground recorded"},
	{RuleRejectAfterAccept, KindProcedure, []Source{{CountyPolicy, "", "", "受理后不予办理须说明事由"}},
		"已受理的案件，主管须注明事由代码方可驳回", "A supervisor may reject an accepted case only with a reason code"},
	{RuleReopenKeepsOutcome, KindProcedure, []Source{{CountyPolicy, "", "十一", "创建评估数据准确"}},
		"重新办理不抹去原办理结果，已报统计不因事后重开而改变", "Reopening keeps the earlier outcome in the history; reported figures do not change"},
	{RuleWithdrawalReason, KindProcedure, []Source{{CountyPolicy, "", "", "撤回须有事由"}, {LawLegalAid, "第43条", "第2款", "视为撤回"}},
		"撤回须注明事由：申请人申请、未补正材料、迁出、其他（附说明）", "A withdrawal names its reason: applicant's request, materials not supplied, moved away, or other with text"},
	{RuleStatusChangeReprio, KindProcedure, []Source{{LawPension, "第2条", "", "优抚对象的身份"}, {CountyPolicy, "", "", ""}},
		"军人身份变化（退役、牺牲、评残、调岗）按生效日期记录，并重新评定在办案件的优先级", "A change of the servicemember's status is recorded with its effective date and re-evaluates open cases' priority"},
	// The work points ask for timely service and set no rule for waiting;
	// the hold and its bounds are the county's own.
	{RuleCaseHold, KindProcedure, []Source{{CountyPolicy, "", "", "服务及时；等待期间暂停计时为本县设定"}},
		"县级政策：案件可暂停1至180日并注明事由，暂停期间县定时限停止计算，恢复后按剩余时间继续；到期自动恢复", "County policy: a case may be put on hold for 1 to 180 days with a reason; the county's clocks stop meanwhile and run on with the time they had left; at its end the hold lifts by itself"},
	{RuleHoldStatutory, KindProcedure, []Source{{LawLegalAid, "第43条", "", "审查期限仅在补正材料期间停止计算"}, {LawLegalAid, "第49条", "", ""}},
		"法定期限（法律援助审查、指派、异议审查）不因县级暂停而停止；此类期限在计时中的案件不得暂停", "Statutory periods (legal aid's decision, lawyer and objection periods) do not stop for a county hold; a case with one running cannot be held"},
	{RuleCampaignTargetsFrozen, KindProcedure, []Source{{CountyPolicy, "", "六", "“八一”、春节等重大节日，全覆盖走访慰问边海防和任务部队官兵家庭"}},
		"县级政策：走访对象按活动规则在开启时一次确定，此后计划不可更改，补充对象逐户添加并留痕", "County policy: a campaign's targets are fixed by its rule when it opens; the plan cannot change afterwards, and later targets are added one by one, each recorded"},
	{RuleCampaignGapReasons, KindProcedure, []Source{{CountyPolicy, "", "六", "全覆盖走访慰问"}},
		"县级政策：结束活动时，每户未走访对象须注明原因", "County policy: a campaign closes only when every unvisited target has a reason"},
	{RuleCampaignOneVisit, KindProcedure, []Source{{CountyPolicy, "", "七", "精心组织“八一”、新年春节等节日期间走访慰问"}},
		"县级政策：每户每次活动计一次走访（回访另记，不重复计数），走访日期须在活动期间内", "County policy: one visit per household and campaign counts (follow-ups are recorded, not counted), dated within the campaign"},
	{RuleMeasureEntryExit, KindProcedure, []Source{{CountyPolicy, "", "十二", "建立惠军措施进入、退出机制"}},
		"县级政策：惠军措施经主管批准进入台账，暂停、恢复、退出按状态机进行并留痕", "County policy: a measure enters the ledger when a supervisor approves it; suspension, reinstatement and exit follow the state machine, each recorded"},
	{RuleMeasureAgreementExpired, KindProcedure, []Source{{CountyPolicy, "", "十二", "对签署拥军优抚合作协议的社会企业落实惠军措施情况进行全面清理"}},
		"县级政策：合作协议到期的措施即视为暂停，续签前不得重新生效", "County policy: a measure whose organisation's agreement has expired counts as suspended, and cannot be active again until the agreement is renewed"},
	{RuleMeasureComplaintUpheld, KindProcedure, []Source{{CountyPolicy, "", "十二", "接受社会监督"}},
		"县级政策：投诉经查属实的，可同时暂停所涉措施，二者一并生效或一并不生效", "County policy: upholding a complaint may suspend its measure; both take effect together or neither does"},
	{RuleRecruitmentPlacement, KindProcedure, []Source{{CountyPolicy, "", "五", "组织开展随军家属定向招聘活动，拓宽随军家属就业安置渠道"}, {LawPension, "第46条", "", "双向选择"}},
		"定向招聘中只有已录用的申请可接受，接受即按案件规则在就业安置案件上记录安置", "Only an offered application can be accepted, and accepting it records the placement on the employment-placement case under the case's rules"},
	{RuleOneOpenCasePerKind, KindProcedure, []Source{{CountyPolicy, "", "十一", "创建评估数据准确"}},
		"县级政策：同一成员同类案件只能有一件在办，重复受理的指向在办案件", "County policy: a member has at most one open case of a kind; a second is refused with a pointer to the open one"},
	{RuleAssigneeTown, KindProcedure, []Source{{CountyPolicy, "", "", "属地管理，乡镇（街道）经办"}},
		"县级政策：名录中的经办人只能承办其所在乡镇（街道）的案件，停用后不再分派", "County policy: a caseworker of the directory takes cases only in the towns listed for them, and none once deactivated"},
	// No statute says how a family that moves between the county's towns is
	// handed over, or how a duplicate registration is undone: both are the
	// county's procedure, resting on its towns' responsibility for their
	// families and on figures that count each family once.
	{RuleHouseholdTransfer, KindProcedure, []Source{{CountyPolicy, "", "", "属地管理，乡镇（街道）经办；迁移交接程序要点未作规定，为本县设定"}},
		"县级政策：家庭迁往本县其他乡镇（街道）的，由迁入地经办人或主管接收或退回；接收前两地均显示“移交中”，不得另行变更；接收后家庭及其在办案件一并迁入并留痕", "County policy: a family moving to another of the county's towns is accepted or declined by the receiving town's caseworker or a supervisor; until then both towns see it in transfer and it cannot otherwise change; on acceptance the family and its open cases move, each with history"},
	{RuleHouseholdMerge, KindProcedure, []Source{{CountyPolicy, "", "十一", "创建评估数据准确；合并程序要点未作规定，为本县设定"}},
		"县级政策：重复登记的家庭由主管合并（限同一乡镇，跨乡镇的先移交），保留双方全部成员、案件、记录和历史；被合并的家庭只读并指向保留的家庭", "County policy: a supervisor merges a duplicate registration into the surviving household (same town only: transfer first), keeping every member, case, record and history of both; the merged-away household is read-only and points to the survivor"},

	{RuleIDNumberCheckDigit, KindDocument, []Source{{StdIDNumber, "", "", "18位，末位为ISO 7064 MOD 11-2校验码"}},
		"身份证号码18位，校验码须正确，出生日期须真实", "An ID number has 18 characters, a correct check character and a real birth date"},
	{RuleIDNumberRegion, KindDocument, []Source{{StdRegions, "", "", "现行及历史行政区划代码"}},
		"身份证号码前6位须为现行或历史行政区划代码", "The first six digits are a current or historical region code"},
	{RuleIDNumberLegacy, KindDocument, []Source{{StdIDNumber89, "", "", "15位号码"}, {StdIDNumber, "", "", ""}},
		"接受15位旧号码，补\"19\"并加校验码转换为18位，并记录已转换", "A 15-digit number is accepted, converted to 18 digits, and recorded as converted"},
	{RuleIDNumberSex, KindDocument, []Source{{StdIDNumber, "", "", "第17位奇数为男、偶数为女"}},
		"性别码与亲属关系不符时给出警示（不拒绝）", "A sex digit contradicting the relation is a warning, not a refusal"},
	{RuleCertificate, KindDocument, []Source{{LawPension, "第37条", "", "制发优待证"}, {LawPension, "第52条", "", ""}},
		"优待证号码作为敏感信息加密保存", "The preferential-treatment certificate number is kept sealed"},
	{RuleTownCode, KindDocument, []Source{{CountyPolicy, "", "", "县辖乡镇（街道）"}, {StdRegions, "", "", ""}},
		"乡镇（街道）代码须为本县在册代码", "A town code must be one of the county's towns and sub-districts"},
	{RuleDuplicateIntake, KindDocument, []Source{{CountyPolicy, "", "十一", "创建评估数据准确；疑似重复的判定要点未作规定，为本县设定"}},
		"县级政策：身份证号码相同的不予重复登记；姓名与出生日期或姓名与电话相同的在册记录作为疑似重复列出（仅列本人权限内可见的），确认后方可登记", "County policy: an ID number registered already is refused; live records with the same name and birth date, or name and phone, are listed as possible duplicates (those the caller may see) and registering needs a confirmation"},
	{RuleAttachmentFiles, KindDocument, []Source{{LawPIPL, "第28条", "", "敏感个人信息采取严格保护措施"}, {CountyPolicy, "", "", "类型与大小为本县设定"}},
		"案件附件限PDF、JPEG、PNG，默认不超过20MB（可配置），类型按文件内容判定；加密保存，记录SHA-256，每次下载留痕", "Case attachments are PDF, JPEG or PNG, 20 MB at most by default (configurable), their type judged from the bytes; kept sealed with their SHA-256, every download audited"},
}

// rulesByID indexes Rules.
var rulesByID = func() map[RuleID]*Rule {
	m := make(map[RuleID]*Rule, len(Rules))
	for i := range Rules {
		m[Rules[i].ID] = &Rules[i]
	}
	return m
}()

// RuleByID returns the rule with id, if the table has it.
func RuleByID(id RuleID) (Rule, bool) {
	r, ok := rulesByID[id]
	if !ok {
		return Rule{}, false
	}
	return *r, true
}
