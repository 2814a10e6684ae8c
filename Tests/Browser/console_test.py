"""The office console in a real browser (Chromium through Selenium), run by scripts/browser-test.

Each step is what a user does; each page visited is checked with axe-core (no critical or serious
violation) and its HTML saved for the Nu HTML Checker; every page gets a screenshot.
"""
import json
import os
import re
import sqlite3
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

from axe_selenium_python import Axe
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

ORIGIN = os.environ["ORIGIN_URL"]
DESTINATION = os.environ["DESTINATION_URL"]
PASSWORD = os.environ["PASSWORD"]
TOKEN = os.environ["OFFICE_TOKEN"]
RUN = os.environ["RUN_DIR"]
DESTINATION_DB = os.environ["DESTINATION_DB"]
DOCS = os.environ.get("DOCS") == "1"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

failures = []
pages_checked = []


def check(condition, what):
    print(("  ok   " if condition else "  FAIL ") + what, flush=True)
    if not condition:
        failures.append(what)


def citizen_id(base17):
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return base17 + "10X98765432"[sum(int(c) * w for c, w in zip(base17, weights)) % 11]


def api(method, url, body=None):
    request = urllib.request.Request(url, method=method, data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Authorization": "Bearer " + TOKEN, "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"null")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def raw(url, cookie=None, form=None):
    """A request outside the browser (a forged post, an old cookie): (status, headers, body)."""
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    request = urllib.request.Request(url, data=data, method="POST" if form is not None else "GET")
    if cookie:
        request.add_header("Cookie", cookie)
    if form is not None:
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


options = webdriver.ChromeOptions()
options.binary_location = "/usr/bin/chromium"
for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1000", "--lang=en-US",
                 f"--user-data-dir={RUN}/chromium-profile", "--disable-gpu"]:
    options.add_argument(argument)
driver = webdriver.Chrome(service=webdriver.ChromeService(executable_path="/usr/bin/chromedriver"), options=options)
driver.set_page_load_timeout(30)


def session_cookie(office_code):
    cookie = driver.get_cookie(f"office_session_{office_code}")
    return f"office_session_{office_code}={cookie['value']}" if cookie else None


def visit_checks(name, posted=False):
    """axe-core on the page as the browser shows it; the page's HTML kept for the Nu checker; a screenshot.

    The HTML is the server's own for a page reached by GET (fetched again with the browser's
    session); for the answer to a form post, the browser's serialization of it.
    """
    axe = Axe(driver)
    axe.inject()
    results = axe.run()
    bad = [v for v in results["violations"] if v.get("impact") in ("critical", "serious")]
    check(not bad, f"{name}: axe-core finds no critical or serious violation"
          + ("" if not bad else ": " + "; ".join(f"{v['id']} ({v['impact']}): {v['help']}" for v in bad)))
    # The HTML as the server sent it (the checker reads markup, not the DOM).
    url = driver.current_url
    office = "510100" if url.startswith(DESTINATION) else "440300"
    # (The browser's serialization has no doctype: the page had one, or it would not be in
    # standards mode, which the test checks.)
    if posted:
        check(driver.execute_script("return document.compatMode") == "CSS1Compat", f"{name}: the page is in standards mode (it has a doctype)")
    body = "<!DOCTYPE html>\n" + driver.page_source if posted else raw(url, cookie=session_cookie(office))[2]
    with open(f"{RUN}/html/{name}.html", "w") as out:
        out.write(body)
    # The whole page, from the top: the window as tall as the page for the picture.
    driver.execute_script("window.scrollTo(0, 0)")
    height = driver.execute_script("return Math.max(document.documentElement.scrollHeight, document.body.scrollHeight)")
    driver.set_window_size(1280, min(max(height + 20, 400), 4000))
    driver.save_screenshot(f"{RUN}/screenshots/{name}.png")
    driver.set_window_size(1280, 1000)
    pages_checked.append(name)


def sign_in_by_keyboard(base, user):
    """Sign in with the keyboard alone: the user name field has focus after a tab or two."""
    field = driver.find_element(By.ID, "username")
    field.send_keys(user)
    field.send_keys(Keys.TAB)
    active = driver.switch_to.active_element
    check(active.get_attribute("id") == "password", "sign-in: Tab moves from the user name to the password")
    active.send_keys(PASSWORD)
    active.send_keys(Keys.ENTER)
    wait_for(lambda: "/login" not in driver.current_url, 15, f"{user} is signed in")


def sign_out():
    driver.find_element(By.CSS_SELECTOR, "header form button[type=submit]").click()
    wait_for(lambda: "/login" in driver.current_url, 15, "signed out")


def wait_for(condition, seconds, what):
    """Waits until `condition` holds (a click that submits a form returns before the next page)."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        if condition():
            check(True, what)
            return True
        time.sleep(0.5)
    check(False, what)
    return False


# --------------------------------------------------------------------------- the person, at the origin
person = citizen_id("44030019850312" + "071")
api("PUT", f"{ORIGIN}/v1/persons/{person}", {"name": "Zhao Lei", "hukouProvince": "44", "status": "suspended"})
# Paid in Shenzhen to 2026-05 and (registered below) in Chengdu from 2026-03: three months overlap,
# which the destination clears after the transfer (the person page lists them).
months = [{"period": f"{year}-{month:02d}", "base": "7000.00", "employerRate": "16", "personalRate": "8"}
          for year in range(2019, 2027) for month in range(1, 13) if (year, month) <= (2026, 5)]
api("POST", f"{ORIGIN}/v1/persons/{person}/months", {"months": months})

try:
    print("browser-test: a destination clerk signs in, registers a person, files an application, watches it complete")
    driver.get(f"{DESTINATION}/cases")
    check(driver.current_url.startswith(f"{DESTINATION}/login?return="), "an unsigned visit goes to the sign-in page")
    visit_checks("login")
    sign_in_by_keyboard(DESTINATION, "clerk")
    check(driver.current_url == f"{DESTINATION}/cases", "after sign-in the clerk is back on the case list")
    driver.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
    check(driver.switch_to.active_element.get_attribute("class") == "skip", "the first Tab reaches the skip-to-content link")
    visit_checks("cases")

    driver.find_element(By.LINK_TEXT, "Register a person").click()
    visit_checks("person-form")
    driver.find_element(By.ID, "citizenId").send_keys(person)
    driver.find_element(By.ID, "name").send_keys("Zhao Lei")
    driver.find_element(By.ID, "hukouProvince").send_keys("44")
    driver.execute_script("document.getElementById('registeredOn').value = arguments[0]", "2026-03-02")
    driver.find_element(By.CSS_SELECTOR, "form.stacked button[type=submit]").click()
    wait_for(lambda: "/persons/" + person in driver.current_url and "The person is registered" in driver.page_source, 15,
             "the registration lands on the person page")
    visit_checks("person")

    driver.find_element(By.LINK_TEXT, "File an application for this person").click()
    check(driver.find_element(By.ID, "citizenId").get_attribute("value") == person, "the filing form comes with the person's ID")
    visit_checks("application-form")
    # A field error: no origin office chosen; the form keeps what was typed.
    driver.find_element(By.CSS_SELECTOR, "form.stacked button[type=submit]").click()
    wait_for(lambda: "originOffice-error" in driver.page_source, 15, "the form comes back with its errors")
    check(driver.find_element(By.ID, "originOffice-error").text == "is required", "the empty origin office is 'required'")
    check(driver.find_element(By.ID, "citizenId").get_attribute("value") == person,
          "a missing origin office is named next to its field, and the citizen ID is kept")
    visit_checks("application-form-error", posted=True)
    driver.find_element(By.CSS_SELECTOR, "#originOffice option[value='440300']").click()
    driver.find_element(By.CSS_SELECTOR, "form.stacked button[type=submit]").click()
    wait_for(lambda: "/receipt" in driver.current_url, 15, "filing leads to the receipt")
    reference = re.search(r"/cases/([0-9a-f-]{36})/receipt", driver.current_url).group(1)
    body = driver.page_source
    check(reference in body and "15 working days" in body and "bring" in body, "the receipt names the reference, the 15-working-day limits and what to bring")
    check(f'href="/progress">{DESTINATION}/progress</a>' in body, "the receipt gives the progress page's full address")
    visit_checks("receipt")

    driver.get(f"{DESTINATION}/cases/{reference}")
    def reloaded():
        driver.refresh()
        return "Transfer completed" in driver.page_source
    completed = wait_for(reloaded, 120, "the case reaches completed within 2 minutes")
    check(completed and "— Completed" in driver.page_source, "the case page shows Completed")
    check("Funds arrived" in driver.page_source and "The origin" in driver.page_source, "the timeline shows the origin's form and the funds")
    visit_checks("case")

    driver.get(f"{DESTINATION}/persons/{person}")
    body = driver.page_source
    cleared = [row.text for row in driver.find_elements(By.CSS_SELECTOR, "table.cleared tbody tr")]
    check("Overlapping months cleared" in body and len(cleared) == 3 and cleared[0].startswith("2026-03 440300 510100 560.00"),
          f"the person page lists the three overlapping months cleared and what goes back to the person (got {cleared})")
    visit_checks("person-cleared")

    # Temporary accounts at retirement: the form, a field error, then a collection the review refuses
    # (born 1985: far from pension age), with the reason in words on the case page.
    driver.find_element(By.LINK_TEXT, "Collect this person's temporary accounts (retirement)").click()
    check(driver.find_element(By.ID, "citizenId").get_attribute("value") == person, "the collection form comes with the person's ID")
    visit_checks("collection-form")
    driver.find_element(By.CSS_SELECTOR, "form.stacked button[type=submit]").click()
    wait_for(lambda: "holderOffices-error" in driver.page_source, 15, "a collection naming no holder comes back with its error")
    check(driver.find_element(By.ID, "holderOffices-error").text == "is required", "no holder office is 'required'")
    visit_checks("collection-form-error", posted=True)
    driver.find_element(By.CSS_SELECTOR, "input[name='holder.440300']").click()
    driver.find_element(By.CSS_SELECTOR, "form.stacked button[type=submit]").click()
    wait_for(lambda: driver.current_url.endswith(f"/persons/{person}") and driver.page_source.count("/cases/") >= 2, 15,
             "filing the collection lands on the person page, which lists the new case")
    collection = [link.get_attribute("href") for link in driver.find_elements(By.CSS_SELECTOR, "main ul li a[href*='/cases/']")
                  if link.get_attribute("href").rstrip("/").split("/")[-1] != "" ]
    refused = None
    for href in collection:
        driver.get(href)
        if "collection of a temporary account" in driver.page_source:
            refused = href
            break
    check(refused is not None and "C01 — the person has not reached pension age" in driver.page_source,
          "the collection's case page names its purpose and the reason in words (C01)")

    driver.get(f"{DESTINATION}/dashboard")
    check(driver.find_elements(By.CSS_SELECTOR, "svg.chart"), "the dashboard draws its charts")
    visit_checks("dashboard")
    driver.get(f"{DESTINATION}/cases?state=completed")
    visit_checks("cases-completed")

    print("browser-test: CSRF and logout")
    clerk_cookie = session_cookie("510100")
    status, _, _ = raw(f"{DESTINATION}/applications/new", cookie=clerk_cookie, form={"citizenId": person, "originOffice": "440300"})
    check(status == 403, f"a form posted without its CSRF token is refused (got {status})")
    sign_out()
    check("/login" in driver.current_url and "You have signed out" in driver.page_source, "sign-out lands on the sign-in page")
    status, headers, _ = raw(f"{DESTINATION}/cases", cookie=clerk_cookie)
    check(status == 303 and headers.get("Location", "").startswith("/login"), "the old session cookie no longer works")

    print("browser-test: a supervisor (viewer) has no filing form, and a direct post is refused")
    driver.get(f"{DESTINATION}/login")
    sign_in_by_keyboard(DESTINATION, "supervisor")
    check(driver.current_url == f"{DESTINATION}/dashboard", "a supervisor starts on the dashboard")
    check("File an application" not in driver.page_source and "Register a person" not in driver.page_source, "the viewer's menu has no filing")
    driver.get(f"{DESTINATION}/cases/{reference}")
    check("/applications/new" not in driver.page_source, "the viewer's case page offers no filing")
    driver.get(f"{DESTINATION}/applications/new")
    check("Not allowed" in driver.page_source, "the filing page says the viewer is not allowed")
    visit_checks("forbidden")
    viewer_cookie = session_cookie("510100")
    csrf = re.search(r'name="_csrf" value="([^"]+)"', raw(f"{DESTINATION}/dashboard", cookie=viewer_cookie)[2]).group(1)
    status, _, _ = raw(f"{DESTINATION}/applications/new", cookie=viewer_cookie, form={"_csrf": csrf, "citizenId": person, "originOffice": "440300"})
    check(status == 403, f"a viewer's direct post with a valid token is refused (got {status})")

    print("browser-test: the language switch changes every label")
    driver.get(f"{DESTINATION}/cases")
    english = [label.text for label in driver.find_elements(By.CSS_SELECTOR, "label, th, nav a, h1, button")]
    driver.find_element(By.LINK_TEXT, "中文").click()
    wait_for(lambda: driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "zh-CN", 15, "the switch reloads the page in Chinese")
    chinese = [label.text for label in driver.find_elements(By.CSS_SELECTOR, "label, th, nav a, h1, button")]
    same = [e for e, c in zip(english, chinese) if e == c and re.search("[A-Za-z]", e)]
    check(len(english) == len(chinese) and not same, f"every label changes language (unchanged: {same})")
    check(driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "zh-CN", "the page says it is Chinese")
    visit_checks("cases-zh")
    driver.find_element(By.LINK_TEXT, "English").click()

    print("browser-test: an expired session goes back to sign-in and returns to where it was")
    viewer_hash = None
    with sqlite3.connect(DESTINATION_DB) as db:
        db.execute("UPDATE staffSession SET lastSeenAt = lastSeenAt - 7200")
    driver.get(f"{DESTINATION}/cases?state=completed")
    check("/login" in driver.current_url and "Your session has ended" in driver.page_source, "an idle session ends: the sign-in page says so")
    sign_in_by_keyboard(DESTINATION, "supervisor")
    check(driver.current_url == f"{DESTINATION}/cases?state=completed", "after signing in again the user is back where they were")
    sign_out()

    print("browser-test: an operator reads the office's health, outbox and dead letters")
    driver.get(f"{DESTINATION}/login")
    sign_in_by_keyboard(DESTINATION, "ops")
    check(driver.current_url == f"{DESTINATION}/operations" and "Everything works" in driver.page_source, "the operator starts on the operations page and it is healthy")
    visit_checks("operations")
    sign_out()

    print("browser-test: the auditor reads the reconciliation; the insured person follows the transfer")
    driver.get(f"{DESTINATION}/login")
    sign_in_by_keyboard(DESTINATION, "auditor")
    driver.get(f"{DESTINATION}/cases/{reference}")
    check("Reconciliation to the fen" in driver.page_source, "an auditor sees the reconciliation")
    visit_checks("case-auditor")
    sign_out()
    driver.get(f"{DESTINATION}/progress")
    visit_checks("progress")
    driver.find_element(By.ID, "citizenId").send_keys(person)
    driver.find_element(By.ID, "reference").send_keys(reference)
    driver.find_element(By.CSS_SELECTOR, "form.stacked button[type=submit]").click()
    wait_for(lambda: "Transfer completed" in driver.page_source and "Contribution months now credited here" in driver.page_source, 15,
             "the progress page shows the completed transfer")
    check("Zhao Lei" not in driver.page_source, "the progress page shows no name")
    visit_checks("progress-found", posted=True)

    print("browser-test: an origin auditor reads the person's ledger")
    driver.get(f"{ORIGIN}/login")
    sign_in_by_keyboard(ORIGIN, "auditor")
    driver.find_element(By.LINK_TEXT, "People").click()
    driver.find_element(By.ID, "citizenId").send_keys(person + Keys.ENTER)
    wait_for(lambda: "/persons/" + person in driver.current_url, 15, "the search finds the person")
    check("Yearly ledger" in driver.page_source and "2019-01" in driver.page_source, "the auditor sees the person's spells and yearly ledger")
    check("transferred out" in driver.page_source and "general account" in driver.page_source, "status and account kind are in words")
    visit_checks("origin-person")
    driver.get(f"{ORIGIN}/cases")
    visit_checks("origin-cases")
    driver.find_element(By.CSS_SELECTOR, "table a").click()
    visit_checks("origin-case")
finally:
    driver.quit()

if DOCS:
    import shutil
    for name, target in [("dashboard", "console-dashboard.png"), ("cases-completed", "console-cases.png"), ("case", "console-case.png")]:
        shutil.copy(f"{RUN}/screenshots/{name}.png", os.path.join(ROOT, "docs", target))
    print("browser-test: screenshots copied to docs/")

print(f"browser-test: {len(pages_checked)} pages checked with axe-core; {len(failures)} failure(s)")
sys.exit(1 if failures else 0)
