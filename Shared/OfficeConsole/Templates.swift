/// The console's shared templates (Mustache: `{{x}}` is escaped, `{{{x}}}` only ever holds HTML
/// this module or a service rendered itself). Each service adds its own pages beside them.
public enum SharedTemplates {
    public static let all: [String: String] = [
        "layout": layout, "login": login, "error": error, "operations": operations, "release": release,
        "fieldErrors": fieldErrors, "pager": pager, "caseFilters": caseFilters,
    ]

    /// The filter form of a case list (``CaseListQuery``), with its errors.
    static let caseFilters = #"""
        <form class="filters" method="get" action="/cases" aria-label="{{t.filter}}">
        <div><label for="state">{{t.filter_state}}</label><select id="state" name="state"><option value="">{{t.filter_any}}</option>{{#states}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/states}}</select></div>
        <div><label for="overdue">{{t.filter_overdue}}</label><input id="overdue" name="overdue" type="checkbox" value="true"{{#filters.overdue}} checked{{/filters.overdue}}></div>
        <div><label for="office">{{t.filter_office}}</label><input id="office" name="office" inputmode="numeric" size="8" value="{{filters.office}}"></div>
        <div><label for="from">{{t.filter_from}}</label><input id="from" name="from" type="date" value="{{filters.from}}"></div>
        <div><label for="to">{{t.filter_to}}</label><input id="to" name="to" type="date" value="{{filters.to}}"></div>
        <div><label for="citizenId">{{t.filter_citizenId}}</label><input id="citizenId" name="citizenId" size="20" value="{{filters.citizenId}}"></div>
        <div><button class="primary" type="submit">{{t.filter_apply}}</button></div>
        <div><a href="/cases">{{t.filter_reset}}</a></div>
        </form>
        {{> fieldErrors}}
        {{^rows}}<p>{{t.list_none}}</p>{{/rows}}
        """#

    static let layout = #"""
        <!DOCTYPE html>
        <html lang="{{lang}}">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{{title}} · {{t.app}}</title>
        <link rel="stylesheet" href="/static/{{css}}">
        <script src="/static/{{js}}" defer></script>
        </head>
        <body{{#live}} data-live-refresh="10"{{/live}}>
        <a class="skip" href="#main">{{t.skip}}</a>
        <header class="top">
        <span class="brand">{{t.app}} · {{roleName}} {{office}}</span>
        {{#hasNav}}<nav aria-label="{{t.nav}}"><ul>{{#nav}}<li><a href="{{path}}"{{#current}} aria-current="page"{{/current}}>{{label}}</a></li>{{/nav}}</ul></nav>{{/hasNav}}
        <div class="who">
        <span class="lang">{{t.language}}: <a href="{{langZh}}" lang="zh-CN" hreflang="zh-CN"{{#isZh}} aria-current="true"{{/isZh}}>中文</a> | <a href="{{langEn}}" lang="en" hreflang="en"{{#isEn}} aria-current="true"{{/isEn}}>English</a></span>
        {{#user}}<span>{{t.signedInAs}} {{user.displayName}} ({{user.roles}})</span>
        <form method="post" action="/logout"><input type="hidden" name="_csrf" value="{{csrf}}"><button type="submit">{{t.signOut}}</button></form>{{/user}}
        </div>
        </header>
        <main id="main">
        {{#notice}}<p class="notice good" role="status">{{notice}}</p>{{/notice}}
        {{{content}}}
        </main>
        </body>
        </html>
        """#

    static let fieldErrors = #"""
        {{#hasErrors}}<div class="notice bad" role="alert"><p>{{t.error_fix}}</p><ul>{{#errorList}}<li><a href="#{{field}}">{{label}}: {{message}}</a></li>{{/errorList}}</ul></div>{{/hasErrors}}
        """#

    static let pager = #"""
        <div class="pager">{{#pager.previous}}<a href="{{pager.previous}}" rel="prev">{{t.list_previous}}</a>{{/pager.previous}}<span>{{t.list_page}} {{pager.page}} {{t.list_of}} {{pager.pages}} · {{pager.total}} {{t.list_count}}</span>{{#pager.next}}<a href="{{pager.next}}" rel="next">{{t.list_next}}</a>{{/pager.next}}</div>
        """#

    static let login = #"""
        <h1>{{t.login_title}}</h1>
        <p>{{t.login_intro}}</p>
        {{#failure}}<p class="notice bad" role="alert">{{failure}}</p>{{/failure}}
        <form class="stacked" method="post" action="/login">
        <input type="hidden" name="_csrf" value="{{csrf}}">
        <input type="hidden" name="return" value="{{returnTo}}">
        <div class="field"><label for="username">{{t.login_username}}</label><input id="username" name="username" autocomplete="username" required value="{{username}}"></div>
        <div class="field"><label for="password">{{t.login_password}}</label><input id="password" name="password" type="password" autocomplete="current-password" required></div>
        <button class="primary" type="submit">{{t.login_submit}}</button>
        </form>
        """#

    static let error = #"""
        <h1>{{heading}}</h1>
        <p class="notice bad" role="alert">{{message}}</p>
        <p><a href="/">{{t.error_back}}</a></p>
        """#

    static let operations = #"""
        <h1>{{t.ops_title}}</h1>
        <h2>{{t.ops_health}}</h2>
        <p class="notice {{statusClass}}" role="status"><strong>{{t.ops_status}}: {{health.status}}</strong> — {{statusWords}}</p>
        <dl class="facts">
        <dt>{{t.ops_database}}</dt><dd>{{health.database}}</dd>
        <dt>{{t.ops_broker}}</dt><dd>{{health.broker}}</dd>
        <dt>{{t.ops_relay}}</dt><dd>{{health.relay}}</dd>
        <dt>{{t.ops_checkedAt}}</dt><dd>{{health.checkedAt}}</dd>
        </dl>
        {{#hasProblems}}<h3>{{t.ops_problems}}</h3><ul>{{#problems}}<li class="bad"><strong>{{name}}</strong>: {{words}}{{#detail}} <span class="hint">({{detail}})</span>{{/detail}}</li>{{/problems}}</ul>{{/hasProblems}}
        {{#hasWarnings}}<h3>{{t.ops_warnings}}</h3><ul>{{#warnings}}<li class="warn"><strong>{{name}}</strong>: {{words}}</li>{{/warnings}}</ul>{{/hasWarnings}}
        <h2>{{t.ops_outbox}}</h2>
        <dl class="facts"><dt>{{t.ops_pending}}</dt><dd>{{outbox.pending}}</dd><dt>{{t.ops_parked}}</dt><dd>{{outbox.parked}}</dd><dt>{{t.ops_oldest}}</dt><dd>{{outbox.oldest}}</dd></dl>
        <h3>{{t.ops_parkedRows}}</h3>
        {{^parked}}<p>{{t.ops_noParked}}</p>{{/parked}}
        {{#hasParked}}<table><thead><tr><th scope="col">{{t.ops_seq}}</th><th scope="col">{{t.ops_type}}</th><th scope="col">{{t.ops_parkedAt}}</th><th scope="col">{{t.ops_reason}}</th><th scope="col" class="num">{{t.ops_heldBehind}}</th><th scope="col"><span class="skip">{{t.ops_release}}</span></th></tr></thead><tbody>
        {{#parked}}<tr><td>{{seq}}</td><td>{{eventType}}</td><td>{{parkedAt}}</td><td>{{reason}}</td><td class="num">{{heldBehind}}</td><td><a href="/operations/outbox/{{seq}}/release">{{t.ops_release}}</a></td></tr>{{/parked}}
        </tbody></table>{{/hasParked}}
        <h2>{{t.ops_lag}}</h2>
        {{^lag}}<p>{{t.ops_noLag}}</p>{{/lag}}
        {{#hasLag}}<table><thead><tr><th scope="col">{{t.ops_partition}}</th><th scope="col" class="num">{{t.ops_lagRecords}}</th></tr></thead><tbody>{{#lag}}<tr><td>{{partition}}</td><td class="num">{{records}}</td></tr>{{/lag}}</tbody></table>{{/hasLag}}
        <h2 id="dead-letters">{{t.ops_deadLetters}}</h2>
        {{^deadLetters}}<p>{{t.ops_noDeadLetters}}</p>{{/deadLetters}}
        {{#hasDeadLetters}}<table><thead><tr><th scope="col">{{t.ops_recordedAt}}</th><th scope="col">{{t.ops_reason}}</th><th scope="col">{{t.ops_provenance}}</th><th scope="col">{{t.ops_valueHash}}</th></tr></thead><tbody>
        {{#deadLetters}}<tr><td>{{recordedAt}}</td><td><strong>{{reason}}</strong><br><span class="hint">{{detail}}</span></td><td>{{topic}}[{{partition}}]@{{offset}}<br>{{eventType}} {{eventId}}<br>{{eventSource}}</td><td><code>{{hash}}</code> ({{bytes}})</td></tr>{{/deadLetters}}
        </tbody></table>{{> pager}}{{/hasDeadLetters}}
        """#

    static let release = #"""
        <h1>{{t.ops_release}} · {{t.ops_seq}} {{row.seq}}</h1>
        <dl class="facts"><dt>{{t.ops_type}}</dt><dd>{{row.eventType}}</dd><dt>{{t.ops_parkedAt}}</dt><dd>{{row.parkedAt}}</dd><dt>{{t.ops_reason}}</dt><dd>{{row.reason}}</dd><dt>{{t.ops_heldBehind}}</dt><dd>{{row.heldBehind}}</dd></dl>
        <p class="notice bad">{{t.ops_releaseConfirm}}</p>
        <form method="post" action="/operations/outbox/{{row.seq}}/release">
        <input type="hidden" name="_csrf" value="{{csrf}}"><input type="hidden" name="confirmed" value="yes">
        <button class="danger" type="submit">{{t.ops_confirm}}</button> <a href="/operations">{{t.filter_reset}}</a>
        </form>
        """#
}
