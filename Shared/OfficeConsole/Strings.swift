import Foundation

/// The console's two languages.
public enum Language: String, Sendable, CaseIterable {
    case zh, en

    /// The `lang` attribute of a page.
    public var tag: String { self == .zh ? "zh-CN" : "en" }

    /// The first of `zh` or `en` an `Accept-Language` header names (by weight); English otherwise.
    public static func preferred(by header: String?) -> Language {
        guard let header else { return .en }
        var best: (Language, Double)?
        for part in header.split(separator: ",") {
            let pieces = part.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            guard let tag = pieces.first else { continue }
            let weight = pieces.dropFirst().first { $0.hasPrefix("q=") }.flatMap { Double($0.dropFirst(2)) } ?? 1
            let language: Language? = tag.hasPrefix("zh") ? .zh : tag.hasPrefix("en") ? .en : nil
            if let language, weight > 0, weight > (best?.1 ?? -1) { best = (language, weight) }
        }
        return best?.0 ?? .en
    }
}

/// Every word the console shows, in both languages. Templates read them as `{{t.key}}`, dots in a key written as underscores (`t.login_title`).
public enum Strings {
    /// One entry: key, English, Simplified Chinese.
    public typealias Entry = (key: String, en: String, zh: String)

    static let common: [Entry] = [
        ("app", "Pension transfer console", "养老保险关系转移接续经办系统"),
        ("role.origin", "Origin office", "转出地经办机构"),
        ("role.destination", "Destination office", "转入地经办机构"),
        ("office", "Office", "经办机构"),
        ("skip", "Skip to content", "跳到正文"),
        ("nav", "Main menu", "主菜单"),
        ("nav.dashboard", "Dashboard", "统计看板"),
        ("nav.cases", "Cases", "业务列表"),
        ("nav.persons", "People", "参保人员"),
        ("nav.newPerson", "Register a person", "登记参保人员"),
        ("nav.newApplication", "File an application", "受理转移申请"),
        ("nav.operations", "Operations", "运行维护"),
        ("nav.progress", "Transfer progress", "转移进度查询"),
        ("signedInAs", "Signed in as", "当前用户"),
        ("signOut", "Sign out", "退出登录"),
        ("language", "Language", "语言"),
        ("roles", "Roles", "角色"),
        ("role.clerk", "clerk", "经办员"),
        ("role.viewer", "supervisor (viewer)", "主管(查看)"),
        ("role.auditor", "auditor", "稽核员"),
        ("role.operator", "operator", "运维员"),
        // Sign-in
        ("login.title", "Sign in", "登录"),
        ("login.username", "User name", "用户名"),
        ("login.password", "Password", "密码"),
        ("login.submit", "Sign in", "登录"),
        ("login.failed", "The user name or password is wrong, or the account is disabled.", "用户名或密码错误,或账户已停用。"),
        ("login.throttled", "Too many failed sign-ins. Wait a while and try again.", "登录失败次数过多,请稍后再试。"),
        ("login.expired", "Your session has ended. Sign in again to continue.", "会话已结束,请重新登录后继续。"),
        ("login.signedOut", "You have signed out.", "您已退出登录。"),
        ("login.intro", "Staff of this office sign in with the account an administrator created for them.", "本经办机构工作人员请使用管理员创建的账户登录。"),
        // Errors
        ("error.title", "Something went wrong", "出错了"),
        ("error.notFound", "Not found", "未找到"),
        ("error.notFoundText", "There is nothing at this address.", "此地址没有内容。"),
        ("error.forbidden", "Not allowed", "无权操作"),
        ("error.forbiddenText", "Your roles do not allow this page or action.", "您的角色无权访问此页面或执行此操作。"),
        ("error.csrf", "The form has expired or did not come from this console. Open the page again and resubmit.", "表单已过期或并非来自本系统。请重新打开页面后再提交。"),
        ("error.server", "The office could not complete the request. Nothing was changed; try again, and tell the operators if it persists.", "系统未能完成请求,未作任何修改。请重试;如持续出现,请联系运维人员。"),
        ("error.tooMany", "Too many requests from your address. Wait a minute and try again.", "您的地址请求过于频繁,请一分钟后再试。"),
        ("error.fix", "Please correct the fields marked below.", "请更正下列标出的内容。"),
        ("error.required", "is required", "必填"),
        ("error.back", "Back to the start page", "返回首页"),
        // Lists
        ("filter", "Filter", "筛选"),
        ("filter.state", "State", "状态"),
        ("filter.any", "Any", "全部"),
        ("filter.overdue", "Overdue only", "仅超期"),
        ("filter.office", "Other office (code)", "对方经办机构(代码)"),
        ("filter.from", "From date", "起始日期"),
        ("filter.to", "To date", "截止日期"),
        ("filter.citizenId", "Citizen ID", "公民身份号码"),
        ("filter.apply", "Apply", "查询"),
        ("filter.reset", "Clear", "清除"),
        ("list.count", "cases", "件"),
        ("list.none", "No case matches.", "没有符合条件的业务。"),
        ("list.previous", "Previous page", "上一页"),
        ("list.next", "Next page", "下一页"),
        ("list.page", "Page", "页码"),
        ("list.of", "of", "/"),
        ("col.reference", "Reference", "业务编号"),
        ("col.citizen", "Citizen ID", "公民身份号码"),
        ("col.state", "State", "状态"),
        ("col.submitted", "Filed", "受理日期"),
        ("col.received", "Received", "收到日期"),
        ("col.due", "Next deadline", "下一时限"),
        ("col.overdue", "Overdue", "超期"),
        ("col.origin", "Origin", "转出地"),
        ("col.destination", "Destination", "转入地"),
        ("yes", "yes", "是"),
        ("no", "no", "否"),
        // Case page
        ("case.title", "Case", "业务"),
        ("case.steps", "Steps and time limits", "办理环节与时限"),
        ("case.step", "Step", "环节"),
        ("case.date", "Date", "日期"),
        ("case.limit", "15-working-day limit", "15个工作日时限"),
        ("case.met", "Met", "是否按时"),
        ("case.money", "Money", "资金"),
        ("case.documents", "Documents", "文书"),
        ("case.reconciliation", "Reconciliation to the fen", "对账(精确到分)"),
        ("case.actions", "What you can do now", "可办理事项"),
        ("case.noActions", "Nothing to do by hand in this state: the offices' messages move the case on.", "当前状态无需人工操作,双方经办机构的报文会推进业务。"),
        ("case.history", "History", "办理记录"),
        ("case.live", "This page refreshes itself while the case is open.", "业务办结前,本页会自动刷新。"),
        ("case.reasons", "Reasons", "原因"),
        ("case.needsReview", "Needs review: the peer office made claims about money that this office's books do not show.", "需复核:对方经办机构提出的资金主张与本机构账目不符。"),
        ("met.yes", "met", "按时"),
        ("met.no", "missed", "超时"),
        ("met.open", "open", "进行中"),
        ("daysLeft", "working days left", "个工作日剩余"),
        ("daysLate", "working days overdue", "个工作日已超期"),
        ("dueToday", "due today", "今日到期"),
        ("money.expected", "Amount to transfer (⑥, from the information form)", "应转移金额(⑥,据信息表)"),
        ("money.received", "Received, net of refunds", "已到账(扣除退回)"),
        ("money.remitted", "Remitted", "已汇出"),
        ("money.difference", "Difference", "差额"),
        ("money.line", "Line", "项目"),
        ("money.amount", "Amount (yuan)", "金额(元)"),
        ("money.remittance", "Remittance", "汇款"),
        ("money.refund", "Refund", "退款"),
        ("money.valueDate", "Value date", "起息日"),
        ("doc.letter", "Contact letter", "联系函"),
        ("doc.certificate", "Payment certificate", "缴费凭证"),
        ("doc.remittance", "Remittance numbers", "汇款编号"),
        ("doc.none", "none", "无"),
        ("doc.receipt", "Print the receipt", "打印受理回执"),
        // Operations
        ("ops.title", "Operations", "运行维护"),
        ("ops.health", "Health", "运行状况"),
        ("ops.status", "Status", "状态"),
        ("ops.status.ok", "Everything works.", "一切正常。"),
        ("ops.status.degraded", "Working, but something needs attention.", "可运行,但有事项需要关注。"),
        ("ops.status.unavailable", "Not able to serve: see the problems below.", "无法正常服务:见下列问题。"),
        ("ops.database", "Database", "数据库"),
        ("ops.broker", "Message broker", "消息中间件"),
        ("ops.relay", "Outbox relay runs in", "发件箱转发运行于"),
        ("ops.checkedAt", "Checked at", "检查时间"),
        ("ops.problems", "Problems", "问题"),
        ("ops.warnings", "Warnings", "警告"),
        ("ops.outbox", "Outbox", "发件箱"),
        ("ops.pending", "Waiting to be sent", "待发送"),
        ("ops.parked", "Set aside (parked)", "已搁置"),
        ("ops.oldest", "Oldest unsent (seconds)", "最早未发送(秒)"),
        ("ops.parkedRows", "Parked events", "搁置的事件"),
        ("ops.noParked", "No event is set aside.", "没有被搁置的事件。"),
        ("ops.seq", "No.", "序号"),
        ("ops.type", "Event type", "事件类型"),
        ("ops.reason", "Reason", "原因"),
        ("ops.heldBehind", "Held behind it", "其后等待"),
        ("ops.parkedAt", "Parked at", "搁置时间"),
        ("ops.release", "Release", "重新发送"),
        ("ops.releaseConfirm", "Put this event back in line? Do so only once its cause is fixed.", "确认将此事件重新排队发送?请仅在原因已排除后操作。"),
        ("ops.confirm", "Yes, release it", "确认重新发送"),
        ("ops.released", "The event is back in line; the relay publishes it next.", "事件已重新排队,将优先发送。"),
        ("ops.deadLetters", "Dead letters", "死信"),
        ("ops.noDeadLetters", "No record has been dead-lettered.", "没有进入死信的记录。"),
        ("ops.provenance", "Provenance", "来源"),
        ("ops.valueHash", "Value SHA-256 (bytes)", "原始内容 SHA-256(字节)"),
        ("ops.lag", "Consumer lag", "消费延迟"),
        ("ops.partition", "Partition", "分区"),
        ("ops.lagRecords", "Records behind", "落后记录数"),
        ("ops.noLag", "No lag reported yet (the consumer reports it every few seconds once it has partitions).", "暂无延迟数据(消费者分配到分区后每隔几秒报告一次)。"),
        ("ops.recordedAt", "Recorded at", "记录时间"),
        // Dashboard
        ("dash.title", "Dashboard", "统计看板"),
        ("dash.open", "Open cases by state", "在办业务(按状态)"),
        ("dash.overdue", "Overdue cases", "超期业务"),
        ("dash.dueSoon", "Deadlines in the next five working days", "未来五个工作日内到期"),
        ("dash.perDay", "Filed and completed per day, last 30 days", "近30天每日受理与办结"),
        ("dash.filed", "filed", "受理"),
        ("dash.completed", "completed", "办结"),
        ("dash.completionTime", "Completion time in working days (cases completed in the last 90 days)", "办结用时(工作日,近90天办结的业务)"),
        ("dash.cases", "cases", "件"),
        ("dash.none", "No data yet.", "暂无数据。"),
        ("dash.workingDays", "working days", "个工作日"),
        ("dash.total", "Total", "合计"),
        ("line.1", "① individual account before 1998", "① 1998年前个人账户"),
        ("line.2", "② individual account 1998 to last year-end", "② 1998年至上年末个人账户"),
        ("line.3", "③ principal of the transfer year", "③ 转移当年个人账户本金"),
        ("line.4", "④ = ① + ② + ③ individual account", "④ = ① + ② + ③ 个人账户合计"),
        ("line.5", "⑤ pooled fund", "⑤ 统筹基金"),
        ("line.6", "⑥ = ④ + ⑤ to transfer", "⑥ = ④ + ⑤ 转移合计"),
        // Review codes (destination) and return codes (origin), in words
        ("code.D01", "D01 — not registered and contributing at this office", "D01 — 未在本地参保缴费"),
        ("code.D02", "D02 — a temporary account is opened instead of a transfer", "D02 — 建立临时基本养老保险缴费账户,不办理转移"),
        ("code.D03", "D03 — already receives a basic pension", "D03 — 已领取基本养老金"),
        ("code.D04", "D04 — the payment certificate does not match one the origin issued for this person", "D04 — 参保缴费凭证与转出地为其开具的不符"),
        ("code.D05", "D05 — a transfer for this person is already open", "D05 — 该人员已有在办的转移业务"),
        ("code.D07", "D07 — origin and destination are in the same province: no fund transfer", "D07 — 转出地与转入地同省,无需跨省转移资金"),
        ("code.C01", "C01 — the person has not reached pension age", "C01 — 未达到法定退休年龄"),
        ("code.C02", "C02 — this office is not the person's claiming place", "C02 — 本地不是待遇领取地"),
        ("code.O01", "O01 — still contributing at the origin", "O01 — 在转出地仍在参保缴费"),
        ("code.O02", "O02 — contributions in arrears at the origin", "O02 — 在转出地有欠缴"),
        ("code.O03", "O03 — the person or certificate does not match the origin's records", "O03 — 人员或凭证与转出地记录不符"),
        ("code.O04", "O04 — the relationship was already terminated", "O04 — 养老保险关系已终止"),
        ("code.O05", "O05 — already receives a pension at the origin", "O05 — 已在转出地领取养老金"),
        ("code.O07", "O07 — the bank details are not valid", "O07 — 银行账户信息有误"),
        ("code.O08", "O08 — no temporary account here to collect", "O08 — 本地无临时缴费账户可归集"),
        // Relationship status (origin) and account kind
        ("status.contributing", "contributing", "正常缴费"),
        ("status.suspended", "suspended (employment ended)", "中断缴费(已解除劳动关系)"),
        ("status.transferred", "transferred out", "已转出"),
        ("status.retired", "retired", "已退休"),
        ("kind.general", "general account", "基本养老保险账户"),
        ("kind.temporary", "temporary account", "临时缴费账户"),
        // States
        ("state.submitted", "Filed, in review", "已受理,审核中"),
        ("state.awaiting-certificate", "Waiting for the payment certificate", "等待参保缴费凭证"),
        ("state.rejected", "Rejected (written explanation)", "不予受理(书面说明)"),
        ("state.temporary-account-opened", "Temporary account opened", "已建立临时缴费账户"),
        ("state.contact-letter-sent", "Contact letter sent to the origin", "已向转出地发出联系函"),
        ("state.letter-returned", "Letter returned by the origin", "联系函被转出地退回"),
        ("state.awaiting-funds", "Form in, waiting for the funds", "已收到信息表,等待资金"),
        ("state.awaiting-form", "Funds in, waiting for the form", "已收到资金,等待信息表"),
        ("state.discrepancy", "Discrepancy between form and funds", "信息表与资金不一致"),
        ("state.matched", "Form and funds match, to be completed", "信息表与资金相符,待办结"),
        ("state.completed", "Completed", "已办结"),
        ("state.letter-received", "Contact letter received", "已收到联系函"),
        ("state.returned", "Letter returned", "已退回联系函"),
        ("state.form-issued", "Information form issued", "已出具信息表"),
        ("state.funds-remitted", "Funds remitted", "资金已汇出"),
        ("state.terminated", "Relationship terminated, waiting for the destination", "关系已终止,等待转入地办结"),
        ("state.closed", "Closed", "已办结"),
    ]

    /// The table for `language`: shared words and the service's own (which win on a clash).
    public static func table(_ language: Language, extra: [Entry]) -> [String: String] {
        var table: [String: String] = [:]
        for entry in common + extra { table[entry.key.replacingOccurrences(of: ".", with: "_")] = language == .zh ? entry.zh : entry.en }
        return table
    }
}
