import OfficeConsole

/// The destination office's console pages (Mustache) and their words.
enum DestinationTemplates {
    static let all: [String: String] = [
        "cases": cases, "case": casePage, "receipt": receipt, "personForm": personForm, "person": person,
        "applicationForm": applicationForm, "collectionForm": collectionForm, "progress": progress, "dashboard": dashboard,
    ]

    static let strings: [Strings.Entry] = [
        ("person.title", "Person", "参保人员"),
        ("person.new", "Register a person who arrived", "登记新参保人员"),
        ("person.citizenId", "Citizen ID (18 characters)", "公民身份号码(18位)"),
        ("person.name", "Name", "姓名"),
        ("person.hukou", "Hukou province (2-digit code, e.g. 51 Sichuan)", "户籍所在省份(2位代码,如51四川)"),
        ("person.registeredOn", "Registered here on", "本地参保登记日期"),
        ("person.contributingSince", "Contributing here since (month)", "本地缴费起始月份"),
        ("person.contributing", "Contributing here now", "目前在本地缴费"),
        ("person.receivesPension", "Already receives a basic pension", "已领取基本养老金"),
        ("person.card", "Social security card the person holds (optional)", "本人持有的社会保障卡(可选)"),
        ("person.cardIssuer", "Card issued by (office code)", "发卡机构(经办机构代码)"),
        ("person.cardIssuedOn", "Card issued on", "发卡日期"),
        ("person.save", "Register", "登记"),
        ("person.saved", "The person is registered.", "人员登记成功。"),
        ("person.cardIssued", "The person is registered. A social security card for this province was issued (one province, one card).", "人员登记成功,已为其核发本省社会保障卡(一省一卡)。"),
        ("person.cards", "Cards", "社会保障卡"),
        ("person.places", "Contribution places", "参保缴费地"),
        ("person.months", "Months", "缴费月数"),
        ("person.lastMonth", "Last month", "最后缴费月"),
        ("person.kind", "Account", "账户类型"),
        ("person.cumulative", "Cumulative contribution months (each month once)", "累计缴费月数(重复月份只计一次)"),
        ("person.cleared", "Overlapping months cleared", "重复缴费月份清理"),
        ("person.clearedNote", "These months were paid at two places. They count once, where they are kept; the other relationship is cleared for them and its individual-account credit for them is returned to the person (transfer first, clear afterwards: MOHRSS 2009 No. 187, 2010 No. 70 Art. 10).", "以下月份在两地重复缴费,只在保留地计算一次;另一关系的该时段予以清理,其个人账户记账额退还本人(先转后清:人社部发〔2009〕187号、〔2010〕70号第十条)。"),
        ("person.month", "Month", "月份"),
        ("person.clearedAt", "Cleared at", "清理地"),
        ("person.keptAt", "Kept at", "保留地"),
        ("person.returned", "Returned to the person", "退还本人"),
        ("person.returnedTotal", "Returned to the person in all", "退还本人合计"),
        ("person.claiming", "Where the pension would be claimed", "待遇领取地"),
        ("person.cases", "Transfer cases", "转移业务"),
        ("person.fileFor", "File an application for this person", "为此人受理转移申请"),
        ("app.new", "File a transfer application", "受理转移接续申请"),
        ("coll.new", "Collect temporary accounts (retirement)", "归集临时缴费账户(退休)"),
        ("coll.intro", "At pension age, the claiming place asks every office that holds a temporary account for the person to send it here, with its form and funds, as in a transfer. One case per office.", "参保人员达到待遇领取年龄时,由待遇领取地向其临时缴费账户所在地逐一发出联系函,归集账户信息和资金,每地一件。"),
        ("coll.holders", "Offices holding a temporary account", "临时缴费账户所在地"),
        ("coll.category", "A woman's original pension age", "女性原法定退休年龄"),
        ("coll.worker", "50 (worker)", "50周岁(女工人)"),
        ("coll.staff", "55 (management or technical staff)", "55周岁(女干部)"),
        ("coll.submit", "Collect", "发起归集"),
        ("coll.forPerson", "Collect this person's temporary accounts (retirement)", "为该人员归集临时缴费账户(退休)"),
        ("purpose.transfer", "transfer", "转移接续"),
        ("purpose.collection", "collection of a temporary account at retirement", "退休时归集临时缴费账户"),
        ("case.purpose", "Purpose", "业务类型"),
        ("app.origin", "Origin office (where the person contributed before)", "转出地经办机构"),
        ("app.certificate", "Payment certificate number (from the origin, if the person has it)", "参保缴费凭证编号(如已取得)"),
        ("app.name", "Name (only for a person not registered here)", "姓名(仅限未在本地登记的人员)"),
        ("app.hukou", "Hukou province (only for a person not registered here)", "户籍省份(仅限未在本地登记的人员)"),
        ("app.approved", "Transfer approved by the personnel department (for a temporary-account case)", "经人社部门批准转移(临时账户情形)"),
        ("app.submit", "File and review", "受理并审核"),
        ("app.choose", "Choose an office", "请选择"),
        ("receipt.title", "Receipt for a transfer application", "养老保险关系转移接续申请受理回执"),
        ("receipt.reference", "Application reference", "申请编号"),
        ("receipt.filedOn", "Filed on", "受理日期"),
        ("receipt.applicant", "Applicant", "申请人"),
        ("receipt.outcome", "Outcome of the review", "审核结果"),
        ("receipt.next", "What happens next", "后续办理流程"),
        ("receipt.next1", "This office has reviewed the application. When it is accepted, a contact letter goes to the origin office at once.", "本机构已完成审核;符合条件的,即向转出地发出联系函。"),
        ("receipt.next2", "The origin office answers within 15 working days of receiving the letter: it issues the information form, remits the funds and ends the relationship there.", "转出地在收到联系函之日起15个工作日内出具信息表、转移资金并终止当地参保关系。"),
        ("receipt.next3", "This office completes the transfer within 15 working days of having both the form and the funds, and tells you.", "本机构在信息表和资金均到达后15个工作日内办结,并通知您。"),
        ("receipt.bring", "For the final confirmation, bring", "办结确认时请携带"),
        ("receipt.bringList", "your resident identity card, your social security card or insurance record book, and the payment certificate from the origin office.", "本人居民身份证、社会保障卡或养老保险手册,以及转出地出具的参保缴费凭证。"),
        ("receipt.track", "You can follow the transfer at this office's progress page with your citizen ID and the reference above", "您可凭公民身份号码和上述申请编号在本机构进度查询页面查询办理进度"),
        ("receipt.print", "Print", "打印"),
        ("receipt.case", "Open the case", "查看业务"),
        ("progress.title", "Where is my transfer?", "转移接续进度查询"),
        ("progress.intro", "Enter your citizen ID and the application reference printed on your receipt.", "请输入公民身份号码及回执上的申请编号。"),
        ("progress.reference", "Application reference", "申请编号"),
        ("progress.submit", "Look up", "查询"),
        ("progress.notFound", "No transfer matches this citizen ID and reference. Check both and try again.", "未找到与该公民身份号码和申请编号匹配的转移业务,请核对后重试。"),
        ("progress.step", "Current step", "当前环节"),
        ("progress.deadline", "Deadline of the current step", "当前环节办理时限"),
        ("progress.steps", "Steps so far", "已完成环节"),
        ("progress.credited", "Contribution months now credited here", "已在本地记载的缴费月数"),
        ("progress.amount", "Amount transferred (yuan)", "转移资金(元)"),
        ("step.filed", "Application filed", "申请受理"),
        ("step.held", "Waiting for the payment certificate", "等待参保缴费凭证"),
        ("step.letter", "Reviewed: contact letter sent to the origin", "审核通过:向转出地发出联系函"),
        ("step.temporary", "Reviewed: temporary account opened", "审核:建立临时缴费账户"),
        ("step.rejected", "Reviewed: not accepted (written explanation)", "审核:不予受理(书面说明)"),
        ("step.returned", "The origin returned the letter", "转出地退回联系函"),
        ("step.form", "The origin's information form arrived", "收到转出地信息表"),
        ("step.funds", "Funds arrived", "资金到账"),
        ("step.refund", "Excess refunded to the origin", "多转资金退回转出地"),
        ("step.completed", "Transfer completed", "转移接续办结"),
    ]

    static let cases = #"""
        <h1>{{t.nav_cases}}</h1>
        {{> caseFilters}}
        {{#hasRows}}<table><caption class="skip">{{t.nav_cases}}</caption><thead><tr><th scope="col">{{t.col_reference}}</th><th scope="col">{{t.col_citizen}}</th><th scope="col">{{t.col_origin}}</th><th scope="col">{{t.col_state}}</th><th scope="col">{{t.col_submitted}}</th><th scope="col">{{t.col_due}}</th></tr></thead><tbody>
        {{#rows}}<tr><td><a href="/cases/{{caseId}}">{{short}}</a></td><td>{{citizen}}</td><td>{{origin}}</td><td>{{state}}</td><td>{{submittedOn}}</td><td>{{#due}}{{due}}{{/due}}{{#overdue}} <strong class="bad">{{t.col_overdue}}</strong>{{/overdue}}</td></tr>{{/rows}}
        </tbody></table>{{> pager}}{{/hasRows}}
        """#

    static let casePage = #"""
        <h1>{{t.case_title}} {{c.short}} — {{c.stateLabel}}</h1>
        {{#live}}<p class="hint">{{t.case_live}}</p>{{/live}}
        <dl class="facts">
        <dt>{{t.col_reference}}</dt><dd><code>{{c.caseId}}</code></dd>
        <dt>{{t.person_name}}</dt><dd>{{c.name}}</dd>
        <dt>{{t.col_citizen}}</dt><dd><a href="/persons/{{c.citizenId}}">{{c.citizenMasked}}</a></dd>
        <dt>{{t.col_origin}}</dt><dd>{{c.origin}}</dd>
        {{#c.isCollection}}<dt>{{t.case_purpose}}</dt><dd>{{c.purpose}}</dd>{{/c.isCollection}}
        <dt>{{t.col_state}}</dt><dd>{{c.stateLabel}}</dd>
        </dl>
        {{#hasReasons}}<h2>{{t.case_reasons}}</h2><ul>{{#reasons}}<li>{{.}}</li>{{/reasons}}</ul>{{/hasReasons}}
        <h2>{{t.case_steps}}</h2>
        <table><thead><tr><th scope="col">{{t.case_step}}</th><th scope="col">{{t.case_date}}</th><th scope="col">{{t.case_limit}}</th><th scope="col">{{t.case_met}}</th></tr></thead><tbody>
        {{#steps}}<tr><td>{{label}}{{#detail}}<br><span class="hint">{{detail}}</span>{{/detail}}</td><td>{{date}}</td><td>{{limit}}</td><td>{{#metClass}}<span class="{{metClass}}">{{met}}</span>{{/metClass}}</td></tr>{{/steps}}
        </tbody></table>
        <h2>{{t.case_money}}</h2>
        <table><thead><tr><th scope="col">{{t.money_line}}</th><th scope="col" class="num">{{t.money_amount}}</th></tr></thead><tbody>
        {{#money}}<tr><td>{{label}}</td><td class="num">{{amount}}</td></tr>{{/money}}
        </tbody></table>
        {{#reconciliation}}<h2>{{t.case_reconciliation}}</h2>
        <table><thead><tr><th scope="col">{{t.money_line}}</th><th scope="col">{{t.money_valueDate}}</th><th scope="col" class="num">{{t.money_amount}}</th></tr></thead><tbody>
        {{#lines}}<tr><td>{{label}}</td><td>{{date}}</td><td class="num">{{amount}}</td></tr>{{/lines}}
        <tr><th scope="row">{{t.money_difference}}</th><td></td><td class="num"><strong class="{{differenceClass}}">{{difference}}</strong></td></tr>
        </tbody></table>{{/reconciliation}}
        <h2>{{t.case_documents}}</h2>
        <dl class="facts"><dt>{{t.doc_letter}}</dt><dd>{{c.letter}}</dd><dt>{{t.doc_certificate}}</dt><dd>{{c.certificate}}</dd><dt>{{t.doc_remittance}}</dt><dd>{{c.remittanceIds}}</dd></dl>
        <h2>{{t.case_actions}}</h2>
        <ul><li><a href="/cases/{{c.caseId}}/receipt">{{t.doc_receipt}}</a></li>{{#canFile}}<li><a href="/applications/new?citizenId={{c.citizenId}}">{{t.person_fileFor}}</a></li>{{/canFile}}</ul>
        {{#open}}<p class="hint">{{t.case_noActions}}</p>{{/open}}
        """#

    static let receipt = #"""
        <div class="receipt">
        <h1>{{t.receipt_title}}</h1>
        <p>{{office}}</p>
        <dl class="facts">
        <dt>{{t.receipt_reference}}</dt><dd><strong><code>{{c.caseId}}</code></strong></dd>
        <dt>{{t.receipt_filedOn}}</dt><dd>{{c.submittedOn}}</dd>
        <dt>{{t.receipt_applicant}}</dt><dd>{{c.name}} ({{c.citizenMasked}})</dd>
        <dt>{{t.col_origin}}</dt><dd>{{c.origin}}</dd>
        <dt>{{t.receipt_outcome}}</dt><dd>{{c.stateLabel}}{{#hasReasons}}<ul>{{#reasons}}<li>{{.}}</li>{{/reasons}}</ul>{{/hasReasons}}</dd>
        </dl>
        <h2>{{t.receipt_next}}</h2>
        <ol><li>{{t.receipt_next1}}</li><li>{{t.receipt_next2}}{{#originDue}} ({{originDue}}){{/originDue}}</li><li>{{t.receipt_next3}}</li></ol>
        <h2>{{t.receipt_bring}}</h2>
        <p>{{t.receipt_bringList}}</p>
        <p>{{t.receipt_track}}: <a href="/progress">{{progressURL}}</a></p>
        </div>
        <p class="no-print"><button class="primary" type="button" data-print hidden>{{t.receipt_print}}</button> <a href="/cases/{{c.caseId}}">{{t.receipt_case}}</a></p>
        """#

    static let personForm = #"""
        <h1>{{t.person_new}}</h1>
        {{> fieldErrors}}
        <form class="stacked" method="post" action="/persons/new" novalidate>
        <input type="hidden" name="_csrf" value="{{csrf}}">
        <div class="field"><label for="citizenId">{{t.person_citizenId}}</label><input id="citizenId" name="citizenId" required maxlength="18" value="{{v.citizenId}}"{{#errors.citizenId}} aria-invalid="true" aria-describedby="citizenId-error"{{/errors.citizenId}}>{{#errors.citizenId}}<span class="field-error" id="citizenId-error">{{errors.citizenId}}</span>{{/errors.citizenId}}</div>
        <div class="field"><label for="name">{{t.person_name}}</label><input id="name" name="name" required maxlength="100" value="{{v.name}}"{{#errors.name}} aria-invalid="true" aria-describedby="name-error"{{/errors.name}}>{{#errors.name}}<span class="field-error" id="name-error">{{errors.name}}</span>{{/errors.name}}</div>
        <div class="field"><label for="hukouProvince">{{t.person_hukou}}</label><input id="hukouProvince" name="hukouProvince" required maxlength="2" inputmode="numeric" value="{{v.hukouProvince}}"{{#errors.hukouProvince}} aria-invalid="true" aria-describedby="hukouProvince-error"{{/errors.hukouProvince}}>{{#errors.hukouProvince}}<span class="field-error" id="hukouProvince-error">{{errors.hukouProvince}}</span>{{/errors.hukouProvince}}</div>
        <div class="field"><label for="registeredOn">{{t.person_registeredOn}}</label><input id="registeredOn" name="registeredOn" type="date" required value="{{v.registeredOn}}"{{#errors.registeredOn}} aria-invalid="true" aria-describedby="registeredOn-error"{{/errors.registeredOn}}>{{#errors.registeredOn}}<span class="field-error" id="registeredOn-error">{{errors.registeredOn}}</span>{{/errors.registeredOn}}</div>
        <div class="field"><label for="contributingSince">{{t.person_contributingSince}}</label><input id="contributingSince" name="contributingSince" type="month" value="{{v.contributingSince}}"{{#errors.contributingSince}} aria-invalid="true" aria-describedby="contributingSince-error"{{/errors.contributingSince}}>{{#errors.contributingSince}}<span class="field-error" id="contributingSince-error">{{errors.contributingSince}}</span>{{/errors.contributingSince}}</div>
        <div class="field"><label><input type="checkbox" name="contributing" value="yes"{{#v.contributing}} checked{{/v.contributing}}> {{t.person_contributing}}</label></div>
        <div class="field"><label><input type="checkbox" name="receivesPension" value="yes"{{#v.receivesPension}} checked{{/v.receivesPension}}> {{t.person_receivesPension}}</label></div>
        <fieldset><legend>{{t.person_card}}</legend>
        <div class="field"><label for="cardIssuer">{{t.person_cardIssuer}}</label><input id="cardIssuer" name="cardIssuer" maxlength="6" inputmode="numeric" value="{{v.cardIssuer}}"{{#errors.cardIssuer}} aria-invalid="true" aria-describedby="cardIssuer-error"{{/errors.cardIssuer}}>{{#errors.cardIssuer}}<span class="field-error" id="cardIssuer-error">{{errors.cardIssuer}}</span>{{/errors.cardIssuer}}</div>
        <div class="field"><label for="cardIssuedOn">{{t.person_cardIssuedOn}}</label><input id="cardIssuedOn" name="cardIssuedOn" type="date" value="{{v.cardIssuedOn}}"{{#errors.cardIssuedOn}} aria-invalid="true" aria-describedby="cardIssuedOn-error"{{/errors.cardIssuedOn}}>{{#errors.cardIssuedOn}}<span class="field-error" id="cardIssuedOn-error">{{errors.cardIssuedOn}}</span>{{/errors.cardIssuedOn}}</div>
        </fieldset>
        <p><button class="primary" type="submit">{{t.person_save}}</button></p>
        </form>
        """#

    static let person = #"""
        <h1>{{t.person_title}}: {{p.name}}</h1>
        <dl class="facts">
        <dt>{{t.col_citizen}}</dt><dd>{{p.citizenMasked}}</dd>
        <dt>{{t.person_hukou}}</dt><dd>{{p.hukou}}</dd>
        <dt>{{t.person_registeredOn}}</dt><dd>{{p.registeredOn}}</dd>
        <dt>{{t.person_contributing}}</dt><dd>{{p.contributing}}</dd>
        <dt>{{t.person_cumulative}}</dt><dd>{{p.cumulative}}</dd>
        <dt>{{t.person_claiming}}</dt><dd>{{p.claiming}}</dd>
        </dl>
        <h2>{{t.person_cards}}</h2>
        <ul>{{#p.cards}}<li>{{issuer}} · {{issuedOn}}</li>{{/p.cards}}</ul>
        <h2>{{t.person_places}}</h2>
        <table><thead><tr><th scope="col">{{t.office}}</th><th scope="col">{{t.person_kind}}</th><th scope="col" class="num">{{t.person_months}}</th><th scope="col">{{t.person_lastMonth}}</th></tr></thead><tbody>
        {{#p.places}}<tr><td>{{place}}</td><td>{{kind}}</td><td class="num">{{months}}</td><td>{{last}}</td></tr>{{/p.places}}
        </tbody></table>
        {{#p.hasCleared}}
        <h2>{{t.person_cleared}}</h2>
        <p>{{t.person_clearedNote}}</p>
        <table class="cleared"><thead><tr><th scope="col">{{t.person_month}}</th><th scope="col">{{t.person_clearedAt}}</th><th scope="col">{{t.person_keptAt}}</th><th scope="col" class="num">{{t.person_returned}}</th></tr></thead><tbody>
        {{#p.cleared}}<tr><td>{{period}}</td><td>{{place}}</td><td>{{keptAt}}</td><td class="num">{{returned}}</td></tr>{{/p.cleared}}
        </tbody></table>
        <p>{{t.person_returnedTotal}}: <strong class="num">{{p.returnedTotal}}</strong></p>
        {{/p.hasCleared}}
        <h2>{{t.person_cases}}</h2>
        {{^cases}}<p>{{t.list_none}}</p>{{/cases}}
        <ul>{{#cases}}<li><a href="/cases/{{caseId}}">{{short}}</a> · {{submittedOn}} · {{state}}</li>{{/cases}}</ul>
        {{#canFile}}<p><a href="/applications/new?citizenId={{p.citizenId}}">{{t.person_fileFor}}</a> · <a href="/collections/new?citizenId={{p.citizenId}}">{{t.coll_forPerson}}</a></p>{{/canFile}}
        """#

    static let applicationForm = #"""
        <h1>{{t.app_new}}</h1>
        {{> fieldErrors}}
        <form class="stacked" method="post" action="/applications/new" novalidate>
        <input type="hidden" name="_csrf" value="{{csrf}}">
        <div class="field"><label for="citizenId">{{t.person_citizenId}}</label><input id="citizenId" name="citizenId" required maxlength="18" value="{{v.citizenId}}"{{#errors.citizenId}} aria-invalid="true" aria-describedby="citizenId-error"{{/errors.citizenId}}>{{#errors.citizenId}}<span class="field-error" id="citizenId-error">{{errors.citizenId}}</span>{{/errors.citizenId}}</div>
        <div class="field"><label for="originOffice">{{t.app_origin}}</label><select id="originOffice" name="originOffice" required{{#errors.originOffice}} aria-invalid="true" aria-describedby="originOffice-error"{{/errors.originOffice}}><option value="">{{t.app_choose}}</option>{{#offices}}<option value="{{code}}"{{#selected}} selected{{/selected}}>{{code}} {{name}}</option>{{/offices}}</select>{{#errors.originOffice}}<span class="field-error" id="originOffice-error">{{errors.originOffice}}</span>{{/errors.originOffice}}</div>
        <div class="field"><label for="certificateNo">{{t.app_certificate}}</label><input id="certificateNo" name="certificateNo" maxlength="40" value="{{v.certificateNo}}"{{#errors.certificateNo}} aria-invalid="true" aria-describedby="certificateNo-error"{{/errors.certificateNo}}>{{#errors.certificateNo}}<span class="field-error" id="certificateNo-error">{{errors.certificateNo}}</span>{{/errors.certificateNo}}</div>
        <div class="field"><label for="name">{{t.app_name}}</label><input id="name" name="name" maxlength="100" value="{{v.name}}"{{#errors.name}} aria-invalid="true" aria-describedby="name-error"{{/errors.name}}>{{#errors.name}}<span class="field-error" id="name-error">{{errors.name}}</span>{{/errors.name}}</div>
        <div class="field"><label for="hukouProvince">{{t.app_hukou}}</label><input id="hukouProvince" name="hukouProvince" maxlength="2" inputmode="numeric" value="{{v.hukouProvince}}"{{#errors.hukouProvince}} aria-invalid="true" aria-describedby="hukouProvince-error"{{/errors.hukouProvince}}>{{#errors.hukouProvince}}<span class="field-error" id="hukouProvince-error">{{errors.hukouProvince}}</span>{{/errors.hukouProvince}}</div>
        <div class="field"><label><input type="checkbox" name="approvedTransfer" value="yes"{{#v.approvedTransfer}} checked{{/v.approvedTransfer}}> {{t.app_approved}}</label></div>
        <p><button class="primary" type="submit">{{t.app_submit}}</button></p>
        </form>
        """#

    static let collectionForm = #"""
        <h1>{{t.coll_new}}</h1>
        <p>{{t.coll_intro}}</p>
        {{> fieldErrors}}
        <form class="stacked" method="post" action="/collections/new" novalidate>
        <input type="hidden" name="_csrf" value="{{csrf}}">
        <div class="field"><label for="citizenId">{{t.person_citizenId}}</label><input id="citizenId" name="citizenId" required maxlength="18" value="{{v.citizenId}}"{{#errors.citizenId}} aria-invalid="true" aria-describedby="citizenId-error"{{/errors.citizenId}}>{{#errors.citizenId}}<span class="field-error" id="citizenId-error">{{errors.citizenId}}</span>{{/errors.citizenId}}</div>
        <fieldset id="holderOffices"{{#errors.holderOffices}} aria-describedby="holderOffices-error"{{/errors.holderOffices}}><legend>{{t.coll_holders}}</legend>
        {{#offices}}<div class="field"><label><input type="checkbox" name="holder.{{code}}" value="yes"{{#checked}} checked{{/checked}}> {{code}} {{name}}</label></div>{{/offices}}
        {{#errors.holderOffices}}<span class="field-error" id="holderOffices-error">{{errors.holderOffices}}</span>{{/errors.holderOffices}}
        </fieldset>
        <div class="field"><label for="pensionCategory">{{t.coll_category}}</label><select id="pensionCategory" name="pensionCategory">{{#categories}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/categories}}</select></div>
        <p><button class="primary" type="submit">{{t.coll_submit}}</button></p>
        </form>
        """#

    static let progress = #"""
        <h1>{{t.progress_title}}</h1>
        <p>{{t.progress_intro}}</p>
        {{#notFound}}<p class="notice bad" role="alert">{{t.progress_notFound}}</p>{{/notFound}}
        <form class="stacked" method="post" action="/progress" autocomplete="off">
        <input type="hidden" name="_csrf" value="{{csrf}}">
        <div class="field"><label for="citizenId">{{t.person_citizenId}}</label><input id="citizenId" name="citizenId" required maxlength="18" value="{{v.citizenId}}"></div>
        <div class="field"><label for="reference">{{t.progress_reference}}</label><input id="reference" name="reference" required maxlength="36" value="{{v.reference}}"></div>
        <p><button class="primary" type="submit">{{t.progress_submit}}</button></p>
        </form>
        {{#found}}<section aria-labelledby="result"><h2 id="result">{{t.progress_step}}: {{found.step}}</h2>
        {{#found.deadline}}<p>{{t.progress_deadline}}: {{found.deadline}}</p>{{/found.deadline}}
        <h3>{{t.progress_steps}}</h3>
        <table><thead><tr><th scope="col">{{t.case_step}}</th><th scope="col">{{t.case_date}}</th></tr></thead><tbody>{{#found.steps}}<tr><td>{{label}}</td><td>{{date}}</td></tr>{{/found.steps}}</tbody></table>
        {{#found.completed}}<dl class="facts"><dt>{{t.progress_credited}}</dt><dd>{{found.months}}</dd><dt>{{t.progress_amount}}</dt><dd>{{found.amount}}</dd></dl>{{/found.completed}}
        </section>{{/found}}
        """#

    static let dashboard = #"""
        <h1>{{t.dash_title}}</h1>
        <div class="cards">
        <div class="card"><div>{{t.dash_overdue}}</div><div class="big"><a href="/cases?overdue=true">{{overdue}}</a></div></div>
        <div class="card"><div>{{t.dash_dueSoon}}</div><div class="big">{{dueSoonTotal}}</div></div>
        <div class="card"><div>{{t.dash_open}} · {{t.dash_total}}</div><div class="big">{{openTotal}}</div></div>
        </div>
        <h2>{{t.dash_open}}</h2>
        {{{openChart}}}
        <h2>{{t.dash_dueSoon}}</h2>
        {{{dueChart}}}
        <h2>{{t.dash_perDay}}</h2>
        {{{perDayChart}}}
        <h2>{{t.dash_completionTime}}</h2>
        {{{completionChart}}}
        """#
}
