"""Synthetic, labelled incidents for the recurrence bench: 24 faults, each reported several times
in English, Swedish, Polish or Russian (hand-written templates that share only the technical
tokens: product, error code, host, version), with paraphrased subjects and bodies, greetings,
context and sign-offs, typos, and different organisations; plus noise (label None) of one-off
requests, and hard negatives: the product (or asset) of a fault, another matter entirely.

    from tests.bench.recurrence_data import generate
    records = generate(seed=1)  # time-ordered; records[i].label is the fault key or None

Deterministic for a seed. Noise templates are used at most twice each, so noise that looks
alike is rare, as it is in a real queue.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from services.problems.domain.features import IncidentText

T0 = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
LANGUAGES = ("en", "sv", "pl", "ru")
LANGUAGE_WEIGHTS = (0.55, 0.15, 0.15, 0.15)


@dataclass(frozen=True)
class Fault:
    key: str
    product: str
    versions: tuple[str, ...]
    assets: tuple[str, ...]  # where the fault lives (a host, a printer); else users' devices
    texts: dict[str, tuple[tuple[str, ...], tuple[str, ...]]]  # language -> subjects, bodies
    hard: tuple[str, ...]  # same product or asset, another matter: "subject\nbody"
    org: str | None = None  # on-premises: one customer's fault
    slow: bool = False  # reported over weeks, a few a week


@dataclass(frozen=True)
class Record:
    incident: IncidentText
    label: str | None  # the fault key; None for noise
    language: str
    hard_negative: bool = False


def _f(
    key: str,
    product: str,
    versions: str,
    assets: str,
    en: tuple[tuple[str, ...], tuple[str, ...]],
    sv: tuple[str, str],
    pl: tuple[str, str],
    ru: tuple[str, str],
    hard: tuple[str, ...],
    org: str | None = None,
    slow: bool = False,
) -> Fault:
    texts = {"en": en, "sv": ((sv[0],), (sv[1],)), "pl": ((pl[0],), (pl[1],))}
    texts["ru"] = ((ru[0],), (ru[1],))
    return Fault(
        key, product, tuple(versions.split()), tuple(assets.split()), texts, hard, org, slow
    )


FAULTS = (
    _f(
        "vpn-sleep", "GlobalConnect VPN", "4.2.1 4.2.0", "",
        (
            ("VPN disconnects after sleep", "GlobalConnect keeps dropping",
             "Lost VPN connection when laptop wakes up"),
            ("Every time my laptop goes to sleep the GlobalConnect client {version} loses the"
             " tunnel and I have to reconnect by hand.",
             "After resuming from standby the VPN shows 'connected' but nothing loads, internal"
             " sites time out until I restart the client.",
             "Since the update to {product} {version} the connection drops whenever I close the"
             " lid. Reconnecting works, but it happens several times a day.",
             "VPN tunnel is gone after hibernation; the tray icon stays green but Outlook and the"
             " file shares are unreachable."),
        ),
        ("VPN kopplar ner efter viloläge", "När datorn har varit i viloläge tappar GlobalConnect"
         " anslutningen och jag måste ansluta igen manuellt. Version {version}."),
        ("VPN rozłącza się po uśpieniu", "Po wybudzeniu laptopa z uśpienia klient GlobalConnect"
         " {version} traci połączenie i muszę łączyć się ponownie ręcznie."),
        ("VPN отключается после спящего режима", "После выхода ноутбука из спящего режима клиент"
         " GlobalConnect {version} теряет соединение, приходится переподключаться вручную."),
        ("Set up GlobalConnect on a new laptop\nPlease install {product} {version} on {pc} for"
         " our new colleague {name}.",
         "Split tunnelling in GlobalConnect\nCan we exclude Zoom traffic from the VPN tunnel in"
         " {product}? Calls are choppy when connected."),
    ),
    _f(
        "billing-pdf", "Billing", "7.3 7.3.2", "",
        (
            ("Invoice PDF export fails (E1021)", "Cannot export invoices to PDF",
             "Billing error E1021 when saving invoice"),
            ("When I click Export to PDF on any invoice in Billing {version} I get error E1021"
             " and no file is created.",
             "Exporting invoices as PDF stopped working this week. The message says 'E1021:"
             " rendering service unavailable'.",
             "We cannot send invoices to customers because the PDF download fails. Error code"
             " E1021 appears after a few seconds.",
             "Month-end is blocked: the invoice print/export to PDF throws E1021 for every"
             " customer account."),
        ),
        ("Fel E1021 vid export av faktura", "När jag exporterar en faktura till PDF i Billing"
         " {version} får jag felet E1021 och ingen fil skapas."),
        ("Błąd E1021 przy eksporcie faktury", "Przy eksporcie faktury do PDF w Billing {version}"
         " pojawia się błąd E1021 i plik nie jest tworzony."),
        ("Ошибка E1021 при экспорте счёта", "При экспорте счёта в PDF в Billing {version}"
         " появляется ошибка E1021, файл не создаётся."),
        ("Add new VAT rate in Billing\nHow do I add the new 12% VAT rate in Billing {version}"
         " for food products?",
         "Billing user for new accountant\nPlease create a Billing account for {name} with the"
         " invoicing role."),
    ),
    _f(
        "outlook-calendar", "Outlook", "2402 2403", "",
        (
            ("Shared calendar not updating", "Outlook calendar sync stuck",
             "Colleague's calendar shows old appointments"),
            ("The shared team calendar in Outlook has not updated since Monday; new meetings that"
             " others add do not appear for me.",
             "Outlook shows 'The set of folders cannot be opened' (0x8004010F) when I open my"
             " manager's calendar.",
             "I have delegate access to the CEO calendar but changes made on her side are not"
             " synced to my Outlook. Restarting did not help.",
             "Calendar sharing broken: I see appointments from last week only, error 0x8004010F"
             " in the status bar."),
        ),
        ("Delad kalender uppdateras inte", "Den delade kalendern i Outlook har inte uppdaterats"
         " sedan måndag, nya möten syns inte. Fel 0x8004010F."),
        ("Udostępniony kalendarz się nie aktualizuje", "Udostępniony kalendarz zespołu w Outlook"
         " nie aktualizuje się od poniedziałku, pojawia się błąd 0x8004010F."),
        ("Общий календарь не обновляется", "Общий календарь в Outlook не обновляется с"
         " понедельника, новые встречи не видны. Ошибка 0x8004010F."),
        ("Outlook signature\nHow do I add the new company logo to my Outlook signature?",
         "Outlook rules\nCan you help me set a rule in Outlook to move newsletters to a folder?"),
    ),
    _f(
        "printer-3f", "PrintHub", "", "PRN-3F-02",
        (
            ("Printer on 3rd floor not printing", "Print jobs stuck in queue",
             "PRN-3F-02 error 49.4C02"),
            ("Nothing comes out of the printer PRN-3F-02 next to the kitchen; my jobs just sit in"
             " the queue.",
             "The big printer on floor 3 shows error 49.4C02 on its display and all print jobs"
             " are stuck.",
             "Jobs sent to PRN-3F-02 stay 'spooling' forever. Other printers work. Can someone"
             " restart it?",
             "Printer 3rd floor dead again, display says 49.4C02, power cycling didn't help."),
        ),
        ("Skrivaren på plan 3 skriver inte ut", "Utskrifterna fastnar i kön på skrivaren"
         " PRN-3F-02, displayen visar fel 49.4C02."),
        ("Drukarka na 3 piętrze nie drukuje", "Zadania wydruku utknęły w kolejce na drukarce"
         " PRN-3F-02, na wyświetlaczu błąd 49.4C02."),
        ("Не печатает принтер на 3 этаже", "Задания печати зависли в очереди на принтере"
         " PRN-3F-02, на дисплее ошибка 49.4C02."),
        ("Toner for PRN-3F-02\nThe printer on floor 3 is low on black toner, please order a new"
         " cartridge.",
         "Add printer\nHow do I add the floor 3 printer PRN-3F-02 to my new laptop?"),
        org="org-northwind",
    ),
    _f(
        "sso-loop", "Okta SSO", "", "",
        (
            ("Login loop after password change", "Stuck in SSO redirect loop",
             "Cannot sign in to portal - invalid_grant"),
            ("After changing my password I cannot get into any app: the Okta sign-in page keeps"
             " redirecting back to itself.",
             "Single sign-on loops endlessly between the portal and the login page, then shows"
             " 'invalid_grant'.",
             "Since this morning's password reset the SSO login just refreshes; clearing the"
             " browser cache did not help.",
             "Redirect loop on login for several of us, browser says too many redirects, error"
             " invalid_grant in the URL."),
        ),
        ("Inloggningen loopar efter lösenordsbyte", "Efter att jag bytt lösenord skickas jag"
         " tillbaka till inloggningssidan i Okta hela tiden, fel invalid_grant."),
        ("Pętla logowania po zmianie hasła", "Po zmianie hasła logowanie Okta SSO przekierowuje"
         " mnie w kółko do strony logowania, błąd invalid_grant."),
        ("Бесконечный цикл входа после смены пароля", "После смены пароля вход через Okta SSO"
         " постоянно перенаправляет обратно на страницу входа, ошибка invalid_grant."),
        ("Okta access to Miro\nPlease add the Miro app to my Okta dashboard.",
         "Okta group for interns\nCreate an Okta group for the summer interns with access to"
         " the wiki."),
    ),
    _f(
        "sap-va01", "SAP ERP", "6.0", "sap-prd-01",
        (
            ("VA01 times out", "SAP short dump TIME_OUT", "Sales orders cannot be saved in SAP"),
            ("Creating a sales order in VA01 runs for minutes and ends with short dump"
             " TIME_OUT.",
             "SAP is extremely slow when saving orders and finally throws a TIME_OUT dump. Other"
             " transactions are OK.",
             "We can't enter customer orders: transaction VA01 hangs and the session is"
             " terminated after 10 minutes.",
             "ST22 shows many TIME_OUT dumps for VA01 since yesterday's transport on"
             " sap-prd-01."),
        ),
        ("VA01 tar för lång tid", "När vi sparar kundorder i VA01 hänger SAP och det slutar med"
         " dump TIME_OUT."),
        ("Przekroczenie czasu w VA01", "Zapis zamówienia w transakcji VA01 trwa kilka minut i"
         " kończy się zrzutem TIME_OUT w SAP."),
        ("VA01 зависает", "При сохранении заказа в транзакции VA01 SAP зависает и выдаёт дамп"
         " TIME_OUT."),
        ("SAP role for new buyer\nPlease give {name} the purchasing role in SAP ERP.",
         "SAP GUI install\nInstall SAP GUI 7.70 on {pc}, the old one does not start."),
        org="org-volga-trans",
    ),
    _f(
        "teams-audio", "Microsoft Teams", "24.1 24.2", "",
        (
            ("No sound in Teams meetings", "Teams can't find my headset",
             "Audio broken in Teams after update"),
            ("Since the latest Teams update I can't hear anyone in meetings and the others can't"
             " hear me.",
             "Teams does not detect my headset anymore; in device settings the speaker list is"
             " empty.",
             "Audio works in YouTube and Zoom, but in Teams calls there is no sound at all."
             " Version {version}.",
             "After Teams updated itself this morning the microphone and speakers show 'No"
             " device found'."),
        ),
        ("Inget ljud i Teams", "Efter senaste uppdateringen av Teams hör jag ingen i mötena och"
         " headsetet hittas inte."),
        ("Brak dźwięku w Teams", "Od ostatniej aktualizacji Teams nie słyszę nikogo na"
         " spotkaniach, zestaw słuchawkowy nie jest wykrywany."),
        ("Нет звука в Teams", "После последнего обновления Teams на встречах нет звука,"
         " гарнитура не определяется."),
        ("Teams channel\nPlease create a Teams channel for the Project Orion team.",
         "Teams background\nCan we get the company virtual backgrounds for Teams?"),
    ),
    _f(
        "wifi-4f", "Wi-Fi", "", "AP-STO-4F",
        (
            ("Wi-Fi keeps dropping on 4th floor", "corp-secure network unstable",
             "Wireless disconnects in Stockholm office"),
            ("The corp-secure Wi-Fi on the 4th floor in Stockholm drops every few minutes, Teams"
             " calls freeze.",
             "Wireless connection is very unstable near the meeting rooms on floor 4; laptops"
             " reconnect constantly.",
             "We lose the network all the time on the fourth floor. Cable works fine, Wi-Fi"
             " doesn't."),
        ),
        ("Wi-Fi tappar anslutningen på plan 4", "Det trådlösa nätverket corp-secure på plan 4 i"
         " Stockholm tappar anslutningen med några minuters mellanrum."),
        ("Wi-Fi zrywa połączenie na 4 piętrze", "Sieć corp-secure na 4 piętrze w biurze w"
         " Sztokholmie rozłącza się co kilka minut."),
        ("Wi-Fi отключается на 4 этаже", "Сеть corp-secure на 4 этаже стокгольмского офиса"
         " отключается каждые несколько минут."),
        ("Guest Wi-Fi\nWe need guest Wi-Fi access for 10 visitors on the 4th floor on Thursday.",
         "Wi-Fi password\nWhat is the corp-secure Wi-Fi password for my new phone?"),
        org="org-vasa-bygg",
    ),
    _f(
        "crm-sync", "SalesForce Connector", "2.8", "",
        (
            ("Contacts not syncing to CRM", "SYNC-409 errors in connector", "CRM sync conflict"),
            ("New contacts from Outlook are not appearing in the CRM; the connector log shows"
             " SYNC-409 conflict.",
             "The SalesForce Connector {version} fails every sync run with error SYNC-409.",
             "Since Tuesday none of my customer updates reach the CRM, sync status says"
             " 'conflict (409)'."),
        ),
        ("Kontakter synkas inte till CRM", "SalesForce Connector {version} misslyckas vid varje"
         " synkning med felet SYNC-409."),
        ("Kontakty nie synchronizują się z CRM", "SalesForce Connector {version} przy każdej"
         " synchronizacji zgłasza błąd SYNC-409."),
        ("Контакты не синхронизируются с CRM", "SalesForce Connector {version} при каждой"
         " синхронизации выдаёт ошибку SYNC-409."),
        ("CRM report\nCan you build a CRM report of open opportunities per region?",
         "Connector licence\nWe need two more SalesForce Connector licences for the new sales"
         " reps."),
        slow=True,
    ),
    _f(
        "db-disk", "PostgreSQL", "14.9", "db-prod-03",
        (
            ("Disk almost full on db-prod-03", "Database server low on space",
             "Alert: /var/lib/postgresql 95%"),
            ("Monitoring alert: filesystem /var/lib/postgresql on db-prod-03 is at 95% and"
             " growing.",
             "The production database host is running out of disk; WAL files are piling up in"
             " pg_wal.",
             "Our app reports 'could not extend file: No space left on device' from PostgreSQL"
             " on db-prod-03."),
        ),
        ("Disken nästan full på db-prod-03", "Larm: filsystemet /var/lib/postgresql på"
         " db-prod-03 är fullt till 95 procent."),
        ("Brak miejsca na dysku db-prod-03", "Alarm: system plików /var/lib/postgresql na"
         " serwerze db-prod-03 zajęty w 95%."),
        ("Заканчивается место на db-prod-03", "Мониторинг: файловая система /var/lib/postgresql"
         " на сервере db-prod-03 заполнена на 95%."),
        ("PostgreSQL read access\nPlease give the BI team read-only access to the reporting"
         " schema on db-prod-03.",
         "Upgrade PostgreSQL\nPlan the upgrade of db-prod-03 from PostgreSQL 14 to 16."),
        org="org-mazur-med",
    ),
    _f(
        "intranet-cert", "Intranet", "", "portal.corp.local",
        (
            ("Intranet certificate expired", "Browser warning on intranet",
             "NET::ERR_CERT_DATE_INVALID on portal"),
            ("When I open portal.corp.local Chrome says the connection is not private,"
             " NET::ERR_CERT_DATE_INVALID.",
             "The intranet's SSL certificate seems to have expired today; everyone gets a"
             " security warning.",
             "Security warning on the intranet start page: certificate expired. Is it safe to"
             " continue?"),
        ),
        ("Certifikatet för intranätet har gått ut", "När jag öppnar portal.corp.local varnar"
         " webbläsaren att certifikatet har gått ut, NET::ERR_CERT_DATE_INVALID."),
        ("Wygasł certyfikat intranetu", "Przy otwieraniu portal.corp.local przeglądarka"
         " ostrzega, że certyfikat wygasł, NET::ERR_CERT_DATE_INVALID."),
        ("Истёк сертификат интранета", "При открытии portal.corp.local браузер пишет, что"
         " сертификат истёк, NET::ERR_CERT_DATE_INVALID."),
        ("Intranet news\nHow do I publish a news article on the intranet start page?",
         "Intranet page owner\nWho can update the canteen menu page on portal.corp.local?"),
        org="org-fabrikam",
    ),
    _f(
        "mfa-push", "Authenticator", "", "",
        (
            ("MFA push not arriving", "No sign-in approval on phone",
             "Authenticator notifications missing"),
            ("I don't get the push notification in the Authenticator app when I sign in, so I"
             " can't approve the login.",
             "MFA prompts never reach my phone; I have to use the six-digit code every time.",
             "Sign-in approval requests stopped arriving on my iPhone yesterday, the app is up"
             " to date."),
        ),
        ("Får ingen MFA-notis", "Jag får ingen pushnotis i Authenticator-appen när jag loggar"
         " in, så jag kan inte godkänna inloggningen."),
        ("Brak powiadomień MFA", "Nie dostaję powiadomienia push w aplikacji Authenticator przy"
         " logowaniu, więc nie mogę zatwierdzić logowania."),
        ("Не приходят push-уведомления MFA", "При входе не приходит push-уведомление в"
         " приложении Authenticator, не могу подтвердить вход."),
        ("Authenticator on new phone\nI changed my phone, how do I move the Authenticator app?",
         "MFA for shared mailbox\nDoes the shared mailbox need MFA too?"),
    ),
    _f(
        "excel-macro", "Excel", "2308", "",
        (
            ("Excel crashes opening macro files", "Excel closes when opening xlsm from SharePoint",
             "VBE7.DLL crash in Excel"),
            ("Excel crashes immediately when I open any .xlsm workbook from SharePoint; Event"
             " Viewer names VBE7.DLL.",
             "Our budget templates with macros make Excel close without a message. Files"
             " without macros open fine.",
             "Since Patch Tuesday Excel {version} crashes on macro-enabled files, faulting"
             " module VBE7.DLL."),
        ),
        ("Excel kraschar med makron", "Excel stängs direkt när jag öppnar en .xlsm-fil från"
         " SharePoint, felande modul VBE7.DLL."),
        ("Excel się zawiesza przy makrach", "Excel zamyka się od razu przy otwieraniu pliku"
         " .xlsm z SharePoint, moduł błędu VBE7.DLL."),
        ("Excel падает при открытии файлов с макросами", "Excel сразу закрывается при открытии"
         " файла .xlsm из SharePoint, модуль сбоя VBE7.DLL."),
        ("Excel formula help\nHow do I make a VLOOKUP across two sheets in Excel?",
         "Excel add-in\nPlease install the Power Query add-in for Excel on {pc}."),
    ),
    _f(
        "payroll-iban", "PayFlow", "5.1", "",
        (
            ("Payroll bank file export fails", "PF-2210 invalid IBAN",
             "Cannot create salary payment file"),
            ("Generating the bank file in PayFlow {version} stops with PF-2210 'invalid IBAN"
             " format' although the IBANs look correct.",
             "We cannot pay salaries: the payment file export fails with error PF-2210.",
             "PayFlow rejects all Polish IBANs when exporting the payroll file (PF-2210)."
             " Deadline is Friday!"),
        ),
        ("Lönefilen kan inte skapas", "Export av bankfil i PayFlow {version} stoppar med fel"
         " PF-2210, ogiltigt IBAN-format."),
        ("Błąd PF-2210 przy eksporcie przelewów", "Generowanie pliku bankowego w PayFlow"
         " {version} kończy się błędem PF-2210, nieprawidłowy format IBAN."),
        ("Ошибка PF-2210 при выгрузке зарплаты", "Формирование банковского файла в PayFlow"
         " {version} завершается ошибкой PF-2210, неверный формат IBAN."),
        ("PayFlow payslip\nAn employee cannot see her payslip for February in PayFlow.",
         "New cost centre in PayFlow\nPlease add cost centre 4410 to PayFlow."),
    ),
    _f(
        "backup-fs02", "Veeam Backup", "12.1", "fs-02",
        (
            ("Nightly backup failed", "Backup job error: Failed to create snapshot",
             "fs-02 backup not running"),
            ("The nightly backup job for fileserver fs-02 failed again: 'Failed to create"
             " snapshot'.",
             "Veeam reports the job FS02-daily as failed for the third night in a row, VSS"
             " snapshot error.",
             "Backup of fs-02 did not complete, the report shows 'Failed to create VM"
             " snapshot'."),
        ),
        ("Nattens backup misslyckades", "Backupjobbet för filservern fs-02 misslyckades igen:"
         " Failed to create snapshot."),
        ("Nocna kopia zapasowa nie powiodła się", "Zadanie kopii zapasowej serwera plików fs-02"
         " znowu zakończyło się błędem Failed to create snapshot."),
        ("Ночной бэкап завершился с ошибкой", "Задание резервного копирования файлового сервера"
         " fs-02 снова завершилось ошибкой Failed to create snapshot."),
        ("Restore a file from backup\nPlease restore the folder Projects/2025 on fs-02 from last"
         " Friday's backup.",
         "Backup retention\nHow long do we keep backups of fs-02?"),
        org="org-sever-energo",
        slow=True,
    ),
    _f(
        "jira-slow", "Jira", "9.4", "",
        (
            ("Jira very slow", "504 Gateway Timeout in Jira", "Boards take forever to load"),
            ("Jira boards take more than 30 seconds to load and sometimes end with 504 Gateway"
             " Timeout.",
             "Our Jira is almost unusable today, every click takes ages.",
             "Opening a sprint board in Jira {version} gives a 504 error after a long wait."),
        ),
        ("Jira är väldigt långsam", "Jira-tavlorna tar över 30 sekunder att ladda och ibland"
         " kommer 504 Gateway Timeout."),
        ("Jira działa bardzo wolno", "Tablice w Jira ładują się ponad 30 sekund, czasem pojawia"
         " się 504 Gateway Timeout."),
        ("Jira очень медленно работает", "Доски в Jira загружаются больше 30 секунд, иногда"
         " ошибка 504 Gateway Timeout."),
        ("Jira project\nPlease create a new Jira project for the Orion team.",
         "Jira workflow\nCan we add a 'Waiting for customer' status to our Jira workflow?"),
    ),
    _f(
        "scan-email", "ScanStation", "", "MFP-2F-01",
        (
            ("Scan to email not working", "Scanned documents not arriving",
             "MFP-2F-01 SMTP error 550"),
            ("When I scan to email on MFP-2F-01 nothing arrives in my inbox; the device log"
             " shows SMTP 550 5.7.1 relay denied.",
             "The copier on floor 2 no longer sends scans by e-mail. It says 'send failed'.",
             "Scan-to-mail from the second floor machine fails with error 550 5.7.1."),
        ),
        ("Skanna till e-post fungerar inte", "Skanningar från MFP-2F-01 kommer inte fram till"
         " e-posten, loggen visar SMTP 550 5.7.1 relay denied."),
        ("Skanowanie do e-maila nie działa", "Skany z urządzenia MFP-2F-01 nie docierają na"
         " e-mail, w logu błąd SMTP 550 5.7.1 relay denied."),
        ("Не работает сканирование в почту", "Сканы с МФУ MFP-2F-01 не приходят на почту, в"
         " журнале ошибка SMTP 550 5.7.1 relay denied."),
        ("Scan to folder\nCan you set up scan to folder on MFP-2F-01 for the legal team?",
         "Paper jam\nMFP-2F-01 has a paper jam in tray 2 that I cannot clear."),
        org="org-wisla-logistyka",
    ),
    _f(
        "bitlocker-bios", "Windows 11", "23H2", "",
        (
            ("BitLocker recovery key requested", "Laptop asks for recovery key after update",
             "BitLocker screen at boot"),
            ("After last night's BIOS update my laptop asks for the BitLocker recovery key at"
             " every start.",
             "Blue BitLocker recovery screen after the firmware update, I don't have the"
             " 48-digit key.",
             "Several laptops in our team show the BitLocker recovery prompt following the Dell"
             " BIOS update."),
        ),
        ("BitLocker ber om återställningsnyckel", "Efter BIOS-uppdateringen i natt ber datorn om"
         " BitLocker-återställningsnyckeln vid varje start."),
        ("BitLocker prosi o klucz odzyskiwania", "Po nocnej aktualizacji BIOS laptop przy każdym"
         " uruchomieniu prosi o klucz odzyskiwania BitLocker."),
        ("BitLocker запрашивает ключ восстановления", "После ночного обновления BIOS ноутбук при"
         " каждом запуске запрашивает ключ восстановления BitLocker."),
        ("Windows 11 upgrade\nWhen will my laptop be upgraded to Windows 11 {version}?",
         "Windows 11 taskbar\nHow do I move the Windows 11 start menu to the left?"),
    ),
    _f(
        "wms-stock", "WMS", "3.4", "",
        (
            ("Stock not updated after goods receipt", "WMS-117 on goods receipt",
             "Inventory levels wrong"),
            ("After posting a goods receipt in WMS {version} the stock level stays the same; the"
             " log has WMS-117.",
             "Received pallets don't show up in inventory, error WMS-117 'location lock"
             " timeout'.",
             "Our warehouse stock is wrong since yesterday: receipts are posted but quantities"
             " do not change."),
        ),
        ("Lagersaldo uppdateras inte", "Efter inleverans i WMS {version} ändras inte"
         " lagersaldot, loggen visar WMS-117."),
        ("Stany magazynowe się nie aktualizują", "Po przyjęciu towaru w WMS {version} stan"
         " magazynowy się nie zmienia, w logu błąd WMS-117."),
        ("Остатки не обновляются после приёмки", "После проведения приёмки в WMS {version}"
         " остатки на складе не меняются, в журнале ошибка WMS-117."),
        ("WMS label printer\nPlease connect the new label printer to WMS at dock 4.",
         "WMS user\nCreate a WMS user for the new forklift driver {name}."),
        slow=True,
    ),
    _f(
        "ios-mail", "iOS Mail", "17.2", "",
        (
            ("Mail on iPhone not syncing", "Cannot Get Mail on iPhone",
             "Phone stopped receiving work email"),
            ("My work email stopped syncing on my iPhone; the Mail app says 'Cannot Get Mail -"
             " the account is not responding'.",
             "Since updating to iOS {version} I get no new messages on my phone, the desktop is"
             " fine.",
             "iPhone mail shows 'Cannot Get Mail' every time I open it, re-entering the password"
             " didn't help."),
        ),
        ("Jobbmejlen synkar inte i iPhone", "E-posten slutade synka i iPhone efter iOS"
         " {version}, appen visar Cannot Get Mail."),
        ("Poczta na iPhonie się nie synchronizuje", "Po aktualizacji do iOS {version} poczta"
         " służbowa na iPhonie się nie synchronizuje, komunikat Cannot Get Mail."),
        ("Почта на iPhone не синхронизируется", "После обновления до iOS {version} рабочая"
         " почта на iPhone не синхронизируется, сообщение Cannot Get Mail."),
        ("New iPhone\nMy iPhone screen is cracked, can I get a replacement phone?",
         "Mail signature on iPhone\nHow do I set my company signature in iOS Mail?"),
    ),
    _f(
        "citrix-black", "Citrix Workspace", "2309", "",
        (
            ("Black screen in Citrix desktop", "Published desktop won't show",
             "Citrix session black"),
            ("When I launch the published desktop in Citrix Workspace I only get a black screen"
             " and have to kill the session.",
             "Virtual desktop starts but stays black, mouse pointer visible, nothing else.",
             "Citrix {version}: black window after login to the VDI, from home and in the"
             " office."),
        ),
        ("Svart skärm i Citrix", "När jag startar skrivbordet i Citrix Workspace blir skärmen"
         " bara svart."),
        ("Czarny ekran w Citrix", "Po uruchomieniu pulpitu w Citrix Workspace widzę tylko"
         " czarny ekran."),
        ("Чёрный экран в Citrix", "При запуске опубликованного рабочего стола в Citrix"
         " Workspace только чёрный экран."),
        ("Citrix on Mac\nHow do I install Citrix Workspace on my private Mac?",
         "Citrix app missing\nThe Navision app is missing in my Citrix Workspace."),
    ),
    _f(
        "webshop-502", "Webshop", "2.14", "",
        (
            ("Checkout fails at payment", "Customers get 502 at payment step",
             "Webshop payments failing"),
            ("Customers report that the checkout fails at the payment step with 'Bad Gateway"
             " 502' from pay-gw.",
             "Orders are not coming through: the webshop payment page returns a 502 error.",
             "Since the release of Webshop {version} about half of payments fail, customers see"
             " an error page after entering card details."),
        ),
        ("Kassan i webbshopen fungerar inte", "Kunder får fel 502 i betalningssteget i"
         " webbshopen, pay-gw svarar inte."),
        ("Błąd płatności w sklepie internetowym", "Klienci zgłaszają błąd 502 na etapie"
         " płatności w sklepie, pay-gw nie odpowiada."),
        ("Ошибка оплаты в интернет-магазине", "Клиенты получают ошибку 502 на этапе оплаты в"
         " интернет-магазине, pay-gw не отвечает."),
        ("Webshop banner\nPlease update the spring campaign banner in the Webshop.",
         "Webshop discount code\nCreate a 10% discount code in the Webshop for the"
         " newsletter."),
    ),
    _f(
        "hr-upload", "HR Portal", "3.0", "",
        (
            ("Cannot upload sick note", "HR Portal: file type not allowed",
             "Upload of PDF certificate fails"),
            ("Uploading my sick leave certificate in the HR Portal fails with 'file type not"
             " allowed' although it is a PDF.",
             "Employees cannot attach PDF documents to absence requests; the HR Portal rejects"
             " them.",
             "HR Portal {version} refuses every PDF upload: file type not allowed."),
        ),
        ("Kan inte ladda upp sjukintyg", "Uppladdning av sjukintyg i HR Portal misslyckas med"
         " 'file type not allowed' fast det är en PDF."),
        ("Nie mogę wgrać zwolnienia lekarskiego", "Wgrywanie zwolnienia lekarskiego w HR Portal"
         " kończy się błędem 'file type not allowed', chociaż to plik PDF."),
        ("Не загружается больничный", "Загрузка больничного листа в HR Portal завершается"
         " ошибкой 'file type not allowed', хотя это PDF."),
        ("Vacation balance\nWhere can I see my remaining vacation days in the HR Portal?",
         "HR Portal address change\nHow do I change my home address in the HR Portal?"),
    ),
    _f(
        "dns-internal", "DNS", "", "dns-int-01",
        (
            ("Internal sites not resolving", "DNS_PROBE_FINISHED_NXDOMAIN on corp.local",
             "Intranet and Jira unreachable by name"),
            ("None of the *.corp.local addresses open, Chrome shows DNS_PROBE_FINISHED_NXDOMAIN."
             " External sites work.",
             "nslookup for wiki.corp.local times out against dns-int-01; by IP address"
             " everything works.",
             "Name resolution for internal servers fails since 8:00, users can't reach Jira, the"
             " wiki or the file shares."),
        ),
        ("Interna sidor går inte att nå", "Inga adresser under corp.local öppnas, webbläsaren"
         " visar DNS_PROBE_FINISHED_NXDOMAIN."),
        ("Wewnętrzne strony nie działają", "Żadne adresy corp.local się nie otwierają,"
         " przeglądarka pokazuje DNS_PROBE_FINISHED_NXDOMAIN."),
        ("Не открываются внутренние сайты", "Не открывается ни один адрес corp.local, браузер"
         " показывает DNS_PROBE_FINISHED_NXDOMAIN."),
        ("DNS record\nPlease add a DNS record test-api.corp.local pointing to 10.2.3.4.",
         "DNS for new server\nCreate an A record for the new build server in corp.local."),
        org="org-northwind",
    ),
)  # fmt: skip

ORGS = {
    "en": ("org-northwind", "org-fabrikam", "org-contoso-uk", "org-tailspin"),
    "sv": ("org-vasa-bygg", "org-nordkyl", "org-skargard-vard"),
    "pl": ("org-wisla-logistyka", "org-mazur-med", "org-baltyk-energia"),
    "ru": ("org-volga-trans", "org-sever-energo", "org-ural-stal"),
}
NAMES = {
    "en": ("Anna Smith", "James Carter", "Priya Patel", "Tom Baker", "Lucy Green", "Omar Haddad"),
    "sv": ("Erik Lindqvist", "Karin Åberg", "Sofia Nyström", "Johan Ek", "Maja Holm"),
    "pl": ("Katarzyna Wójcik", "Piotr Zieliński", "Agnieszka Łuczak", "Marek Nowak"),
    "ru": ("Ольга Смирнова", "Дмитрий Волков", "Анна Кузнецова", "Игорь Павлов"),
}
FILLERS = {  # openers, context sentences, sign-offs
    "en": (
        ("", "Hi,", "Hello IT,", "Good morning,", "Hi support team,", "Dear helpdesk,"),
        ("It started {when}.", "This affects {n} people in {dept}.", "My laptop is {pc}.",
         "I already restarted my computer.", "It is quite urgent for us.",
         "Not sure if this is the right queue.", "Tried again with the same result.",
         "Screenshot attached.", "I am working from home today."),
        ("Thanks, {name}", "Regards, {name}", "BR {name}", "Thank you in advance!",
         "{name}, {dept}"),
    ),
    "sv": (
        ("", "Hej,", "Hej support,", "God morgon,"),
        ("Det började {when}.", "Det gäller {n} personer på {dept}.", "Min dator är {pc}.",
         "Jag har redan startat om datorn.", "Det är ganska bråttom.", "Skärmdump bifogad."),
        ("Tack, {name}", "Mvh {name}", "Hälsningar {name}"),
    ),
    "pl": (
        ("", "Dzień dobry,", "Witam,", "Cześć,"),
        ("Problem zaczął się {when}.", "Dotyczy to {n} osób w dziale {dept}.",
         "Mój komputer to {pc}.", "Restart komputera nie pomógł.", "Sprawa jest dość pilna.",
         "Zrzut ekranu w załączniku."),
        ("Dziękuję, {name}", "Pozdrawiam, {name}"),
    ),
    "ru": (
        ("", "Здравствуйте,", "Добрый день,", "Коллеги,"),
        ("Проблема началась {when}.", "Затрагивает {n} сотрудников отдела {dept}.",
         "Мой компьютер {pc}.", "Перезагрузка не помогла.", "Довольно срочно.",
         "Скриншот во вложении."),
        ("Спасибо, {name}", "С уважением, {name}"),
    ),
}  # fmt: skip
WHEN = {
    "en": ("this morning", "after lunch", "yesterday afternoon", "on Monday", "around 9"),
    "sv": ("i morse", "efter lunch", "i går eftermiddag", "i måndags"),
    "pl": ("dziś rano", "po południu", "wczoraj", "w poniedziałek"),
    "ru": ("сегодня утром", "после обеда", "вчера", "в понедельник"),
}
DEPTS = {
    "en": ("Finance", "Sales", "Logistics", "HR", "Marketing", "Customer Service"),
    "sv": ("Ekonomi", "Försäljning", "Lager", "HR"),
    "pl": ("Finansów", "Sprzedaży", "Logistyki", "Kadr"),
    "ru": ("финансов", "продаж", "логистики", "кадров"),
}

SOFTWARE = (
    "Visio", "Adobe Acrobat", "Photoshop", "AutoCAD", "Power BI", "Slack", "Zoom", "Notepad++",
    "7-Zip", "Tableau", "SAP GUI", "Confluence", "Miro", "Figma", "Docker Desktop", "Git",
    "Firefox", "LibreOffice", "KeePass", "OneNote", "MS Project", "RStudio", "MATLAB", "SPSS",
    "QGIS", "Wireshark", "Lucidchart", "Camtasia", "Snagit", "DBeaver",
)  # fmt: skip
HARDWARE = {
    "en": ("second monitor", "docking station", "wireless mouse", "headset", "webcam",
           "laptop bag", "USB-C charger", "Nordic keyboard"),
    "sv": ("extra skärm", "dockningsstation", "trådlös mus", "headset", "webbkamera"),
    "pl": ("drugi monitor", "stacja dokująca", "mysz bezprzewodowa", "słuchawki", "kamera"),
    "ru": ("второй монитор", "док-станция", "беспроводная мышь", "гарнитура", "веб-камера"),
}  # fmt: skip
RESOURCES = (
    "the Finance share", "the HR SharePoint site", "the Marketing Teams channel",
    "the sales dashboard", "the Legal archive", "the Procurement mailbox", "the board folder",
    "the QA test server", "the design library", "the Payroll reports", "the press kit folder",
)  # fmt: skip
NOISE = {  # templates: {sw} software, {hw} hardware, {res} a resource; used at most twice each
    "en": (
        "Install {sw}\nHi, I need {sw} installed on my laptop {pc} for a project starting next"
        " week.",
        "Licence request: {sw}\nCould you assign me a {sw} licence? My manager {name} has"
        " approved it.",
        "Language in {sw}\n{sw} started showing menus in German, how do I switch back to"
        " English?",
        "{sw} update prompt\n{sw} keeps asking me to update but I have no admin rights. Can you"
        " push it?",
        "Uninstall {sw}\nPlease remove {sw} from {pc}, I no longer use it.",
        "Training for {sw}\nIs there an internal guide or course for {sw}? Our new team members"
        " need it.",
        "Template for {sw}\nCan we get a shared {sw} template with the company logo?",
        "Order {hw}\nPlease order a {hw} for {name}, who starts on Monday.",
        "Broken {hw}\nMy {hw} stopped working after I spilled coffee on it. Can I get a new one?",
        "Return {hw}\nI have an old {hw} that I no longer need. Where should I return it?",
        "Access to {res}\nPlease give me read access to {res}; approved by {name}.",
        "Remove access\nPlease remove {name}'s access to {res}, she moved to another"
        " department.",
        "Owner of {res}\nWho can approve access requests for {res}?",
        "Meeting room too cold\nThe air conditioning in meeting room Saturn is far too cold,"
        " can facilities have a look?",
        "Projector\nThe projector in room Jupiter shows no picture over HDMI.",
        "Guest network code\nWe have visitors tomorrow, please send a guest network code for"
        " three people.",
        "Phone number in directory\nPlease update my mobile number in the company directory.",
        "Out of office\nHow do I set an automatic reply while I am on parental leave?",
        "Name change\nI got married and my surname changed to {name}, please update my"
        " account.",
        "Onboarding\nNew employee {name} starts on the 1st, please prepare an account and a"
        " laptop.",
        "Offboarding\nDisable the account of {name} after Friday, her last working day.",
        "Time zone of invites\nInvitations from our partner in Chicago show the wrong time"
        " zone.",
        "Distribution list\nPlease create a mailing list for the Orion steering group.",
        "Mobile upgrade\nMy company phone is four years old, am I eligible for an upgrade?",
        "Lost badge\nI lost my access badge somewhere in the parking garage.",
        "Desk booking app\nThe desk booking app does not show the third floor plan.",
        "Recover deleted file\nI accidentally deleted a presentation from my desktop"
        " yesterday, can it be recovered?",
        "Large attachment\nHow can I send a 200 MB video to an external agency?",
        "Font missing\nOur brand font Gotham is missing on my new computer.",
        "Keyboard layout\nMy keyboard types Z instead of Y, the layout seems to be German.",
        "Expense receipts\nWhere do I scan my travel receipts for the expense claim?",
        "Screen flicker\nMy laptop screen flickers when the charger is plugged in.",
        "Slow laptop fan\nThe fan of my laptop is very loud since last week.",
        "Calendar permissions for assistant\nPlease let my assistant {name} manage my"
        " calendar.",
        "Conference call dial-in\nWe need a dial-in number for a call with a customer in"
        " Norway.",
        "Newsletter tool\nCan marketing get access to a newsletter tool for 5000 recipients?",
    ),
    "sv": (
        "Installera {sw}\nHej, jag behöver {sw} installerat på min dator {pc}.",
        "Licens för {sw}\nKan jag få en licens för {sw}? Min chef {name} har godkänt.",
        "Beställ {hw}\nVänligen beställ en {hw} till {name} som börjar på måndag.",
        "Trasig {hw}\nMin {hw} har slutat fungera, kan jag få en ny?",
        "Behörighet till {res}\nJag behöver läsbehörighet till {res}.",
        "Parkeringstillstånd\nHur ansöker jag om parkeringskort till garaget?",
        "Glömt passerkort\nJag har glömt mitt passerkort hemma, kan jag få ett tillfälligt?",
        "Ny mobil\nMin tjänstetelefon har spruckit skärm, hur byter jag den?",
        "Semesterlista\nVar hittar jag semesterlistan för sommaren?",
        "Mötesrum bokning\nBokningen av rum Saturnus försvann ur min kalender.",
        "Hörlurar till ny medarbetare\nVi behöver hörlurar till två nya säljare.",
    ),
    "pl": (
        "Instalacja {sw}\nDzień dobry, proszę o instalację {sw} na komputerze {pc}.",
        "Licencja {sw}\nCzy mogę dostać licencję na {sw}? Kierownik {name} zatwierdził.",
        "Zamówienie: {hw}\nProszę zamówić {hw} dla {name}, który zaczyna w poniedziałek.",
        "Zepsuty sprzęt: {hw}\nMój sprzęt ({hw}) przestał działać, czy mogę dostać nowy?",
        "Dostęp do {res}\nProszę o dostęp do odczytu do {res}.",
        "Karta parkingowa\nJak mogę dostać kartę na parking podziemny?",
        "Zmiana nazwiska\nZmieniłam nazwisko po ślubie, proszę zaktualizować konto.",
        "Nowy telefon\nMój telefon służbowy ma pękniętą szybkę, jak go wymienić?",
        "Urlop w kalendarzu\nJak zaznaczyć urlop w kalendarzu zespołu?",
        "Klimatyzacja\nW sali konferencyjnej jest za zimno, proszę o sprawdzenie klimatyzacji.",
        "Szkolenie BHP\nGdzie znajdę materiały ze szkolenia BHP?",
    ),
    "ru": (
        "Установка {sw}\nЗдравствуйте, прошу установить {sw} на компьютер {pc}.",
        "Лицензия {sw}\nМожно получить лицензию на {sw}? Руководитель {name} согласовал.",
        "Заказ: {hw}\nПрошу заказать {hw} для {name}, он выходит в понедельник.",
        "Сломалось оборудование: {hw}\nУ меня перестало работать оборудование ({hw}), можно"
        " заменить?",
        "Доступ к {res}\nПрошу предоставить доступ на чтение к {res}.",
        "Пропуск на парковку\nКак получить пропуск на подземную парковку?",
        "Смена фамилии\nУ меня сменилась фамилия, прошу обновить учётную запись.",
        "Новый телефон\nУ служебного телефона треснул экран, как его заменить?",
        "Отпуск в календаре\nКак отметить отпуск в общем календаре отдела?",
        "Кондиционер\nВ переговорной слишком холодно, проверьте кондиционер.",
        "Обучение по охране труда\nГде найти материалы обучения по охране труда?",
    ),
}  # fmt: skip
_WORD = re.compile(r"\b[^\W\d_]{5,}\b")
_NEAR_KEYS = dict(zip("qwertyuiopasdfghjklzxcvbnm", "wertyuioposdfghjklkxcvbnmn", strict=True))


def typo(word: str, rng: random.Random) -> str:
    """One slip of the fingers: two letters swapped, one dropped, doubled or a neighbour key."""
    i = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(4)
    if kind == 0:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if kind == 1:
        return word[:i] + word[i + 1 :]
    if kind == 2:
        return word[:i] + word[i] + word[i:]
    return word[:i] + _NEAR_KEYS.get(word[i], word[i]) + word[i + 1 :]


def _typos(text: str, rng: random.Random, count: int) -> str:
    words = list(_WORD.finditer(text))
    chosen = {m.start() for m in rng.sample(words, min(count, len(words)))}
    return _WORD.sub(lambda m: typo(m.group(), rng) if m.start() in chosen else m.group(), text)


def _dress(subject: str, body: str, lang: str, rng: random.Random, slots: dict[str, str]) -> str:
    """The template as a person writes it: greeting, the body, some context, a sign-off."""
    openers, contexts, closers = FILLERS[lang]
    extra = " ".join(rng.sample(contexts, rng.randrange(3)))
    text = f"{subject}\n{rng.choice(openers)} {body} {extra}\n{rng.choice(closers)}"
    text = text.format(**slots)
    if rng.random() < 0.4:
        text = _typos(text, rng, rng.randint(1, 3))
    return text


def _slots(lang: str, rng: random.Random, **given: str) -> dict[str, str]:
    return {
        "name": rng.choice(NAMES[lang]),
        "pc": f"{rng.choice(['LT', 'PC', 'NB'])}-{rng.randrange(1000, 9999)}",
        "when": rng.choice(WHEN[lang]),
        "n": str(rng.randint(2, 30)),
        "dept": rng.choice(DEPTS[lang]),
        **given,
    }


def _language(fault: Fault, org: str | None, rng: random.Random) -> tuple[str, str]:
    if org is None:
        lang = rng.choices(LANGUAGES, LANGUAGE_WEIGHTS)[0]
        return lang, rng.choice(ORGS[lang])
    home = next(lang for lang, orgs in ORGS.items() if org in orgs)
    return (home if rng.random() < 0.7 else "en"), org


def _fault_records(fault: Fault, rng: random.Random, days: float) -> list[Record]:
    size = rng.randint(3, 6) if fault.slow else rng.randint(5, 14)
    span = rng.uniform(16, 24) if fault.slow else rng.uniform(0.5, 4)
    start = T0 + timedelta(days=rng.uniform(0, max(days - span, 0)))
    records = []
    for _ in range(size):
        at = start + timedelta(days=rng.uniform(0, span))
        lang, org = _language(fault, fault.org, rng)
        subjects, bodies = fault.texts[lang]
        version = rng.choice(fault.versions) if fault.versions else ""
        slots = _slots(lang, rng, product=fault.product, version=version)
        text = _dress(rng.choice(subjects), rng.choice(bodies), lang, rng, slots)
        asset = rng.choice(fault.assets) if fault.assets and rng.random() < 0.6 else None
        if asset is None and rng.random() < 0.3:
            asset = slots["pc"]
        incident = IncidentText(
            ticket_id="",
            text=text,
            organization_id=org,
            asset=asset,
            product=fault.product if rng.random() < 0.8 else None,
            version=version if version and rng.random() < 0.6 else None,
            at=at,
        )
        records.append(Record(incident, fault.key, lang))
    return records


def _hard_negatives(fault: Fault, rng: random.Random, near: datetime) -> list[Record]:
    records = []
    for template in fault.hard:
        lang, org = "en", rng.choice(ORGS["en"]) if fault.org is None else fault.org
        version = rng.choice(fault.versions) if fault.versions else ""
        slots = _slots(lang, rng, product=fault.product, version=version)
        subject, body = template.split("\n", 1)
        incident = IncidentText(
            ticket_id="",
            text=_dress(subject, body, lang, rng, slots),
            organization_id=org,
            asset=fault.assets[0] if fault.assets and rng.random() < 0.6 else None,
            product=fault.product if rng.random() < 0.8 else None,
            version=version if version and rng.random() < 0.5 else None,
            at=near + timedelta(days=rng.uniform(-3, 3)),
        )
        records.append(Record(incident, None, lang, hard_negative=True))
    return records


def _noise(rng: random.Random, count: int, days: float) -> list[Record]:
    pool = [(lang, t) for lang, templates in NOISE.items() for t in templates for _ in (0, 1)]
    rng.shuffle(pool)
    records = []
    for lang, template in pool[:count]:
        hardware = HARDWARE[lang]
        given = {"sw": rng.choice(SOFTWARE), "hw": rng.choice(hardware)}
        slots = _slots(lang, rng, res=rng.choice(RESOURCES), **given)
        subject, body = template.split("\n", 1)
        at = T0 + timedelta(days=rng.uniform(0, days))
        incident = IncidentText(
            ticket_id="",
            text=_dress(subject, body, lang, rng, slots),
            organization_id=rng.choice(ORGS[lang]),
            asset=slots["pc"] if rng.random() < 0.3 else None,
            product=given["sw"] if "{sw}" in template and rng.random() < 0.5 else None,
            version=None,
            at=at,
        )
        records.append(Record(incident, None, lang))
    return records


def generate(seed: int = 1, days: float = 28, noise_share: float = 0.35) -> list[Record]:
    """Incidents of `days` days in time order, ticket ids `t0001`, `t0002`...; about
    `noise_share` of them noise, two hard negatives per fault among it."""
    rng = random.Random(seed)
    records: list[Record] = []
    for fault in FAULTS:
        found = _fault_records(fault, rng, days)
        records += found + _hard_negatives(fault, rng, found[0].incident.at)
    clustered = sum(1 for r in records if r.label)
    wanted = round(clustered * noise_share / (1 - noise_share)) - (len(records) - clustered)
    records += _noise(rng, max(wanted, 0), days)
    records.sort(key=lambda r: r.incident.at)
    return [
        Record(
            IncidentText(
                f"t{i:04d}",
                r.incident.text,
                r.incident.organization_id,
                r.incident.asset,
                r.incident.product,
                r.incident.version,
                r.incident.at,
            ),
            r.label,
            r.language,
            r.hard_negative,
        )
        for i, r in enumerate(records, start=1)
    ]
