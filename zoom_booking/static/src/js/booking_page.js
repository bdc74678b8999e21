/** @odoo-module **/

import { _t } from "@web/core/l10n/translation";
import publicWidget from "@web/legacy/js/public/public_widget";
import { session } from "@web/session";
// The action name the server checks the captcha token against.
const CAPTCHA_ACTION = "zoom_booking_book";

/**
 * A module of another addon, when that addon is installed (its assets are then
 * in this bundle); undefined otherwise. zoom_booking depends on neither
 * captcha addon: installing one protects the booking form.
 */
function optionalModule(name) {
    return globalThis.odoo?.loader?.modules?.get(name);
}

const DAYS_PER_PAGE = 7;

/** "YYYY-MM-DD" of an instant, in a timezone. */
function localDay(date, timeZone) {
    const parts = new Intl.DateTimeFormat("en-CA", {
        timeZone,
        year: "numeric",
        month: "2-digit",
        day: "2-digit",
    }).formatToParts(date);
    const get = (type) => parts.find((part) => part.type === type).value;
    return `${get("year")}-${get("month")}-${get("day")}`;
}

/** "YYYY-MM-DD" plus a number of days (calendar arithmetic, no timezone). */
function addDays(day, count) {
    const [year, month, date] = day.split("-").map(Number);
    const result = new Date(Date.UTC(year, month - 1, date + count));
    return result.toISOString().slice(0, 10);
}

function browserTimeZone() {
    try {
        return Intl.DateTimeFormat().resolvedOptions().timeZone;
    } catch {
        return "UTC";
    }
}

publicWidget.registry.ZoomBookingPage = publicWidget.Widget.extend({
    selector: ".o_booking_page",
    events: {
        "change .o_booking_tz_select": "_onTimeZoneChange",
        "click .o_booking_prev": "_onPrevious",
        "click .o_booking_next": "_onNext",
        "click .o_booking_slot": "_onSlotClick",
        "submit .o_booking_form": "_onSubmit",
    },

    start() {
        this.slotsUrl = this.el.dataset.slotsUrl;
        this.maxDays = parseInt(this.el.dataset.maxDays || "30", 10);
        this.tzSelect = this.el.querySelector(".o_booking_tz_select");
        this.tzInput = this.el.querySelector(".o_booking_tz");
        this.startInput = this.el.querySelector(".o_booking_start");
        this.form = this.el.querySelector(".o_booking_form");
        this.confirmButton = this.el.querySelector(".o_booking_confirm");
        this.selectedText = this.el.querySelector(".o_booking_selected");
        this.daysEl = this.el.querySelector(".o_booking_days");
        // Dates and times in the page's language, not the browser's.
        this.locale = document.documentElement.lang || undefined;
        // A form the server sent back (an error) keeps the guest's slot.
        this.keptStart = this.startInput.value;
        // The server's value wins (a re-displayed form); else the browser's zone.
        let timeZone = this.tzInput.value || browserTimeZone();
        if (![...this.tzSelect.options].some((option) => option.value === timeZone)) {
            const option = document.createElement("option");
            option.value = option.textContent = timeZone;
            this.tzSelect.prepend(option);
        }
        this._setTimeZone(timeZone);
        this._startCaptcha();
        return this._super(...arguments);
    },

    /** Odoo's reCAPTCHA or Cloudflare Turnstile, when installed and configured. */
    _startCaptcha() {
        if (!this.el.dataset.captcha) {
            return; // the reschedule form: the guest holds the booking's secret link
        }
        const recaptcha = optionalModule("@google_recaptcha/js/recaptcha");
        if (recaptcha && session.recaptcha_public_key) {
            this.recaptcha = new recaptcha.ReCaptcha();
            this.recaptchaReady = Promise.resolve(this.recaptcha.loadLibs()).catch(
                () => false
            );
        }
        const turnstile = optionalModule("@website_cf_turnstile/js/turnstile")?.turnStile;
        if (turnstile && session.turnstile_site_key) {
            // Turnstile puts its token in the form as "turnstile_captcha" and
            // keeps the button disabled until it has one.
            turnstile.addSpinnerNoMangle.call(this, this.confirmButton);
            const nodes = turnstile.addTurnstile.call(this, CAPTCHA_ACTION);
            nodes?.insertBefore(this.confirmButton);
            turnstile.renderTurnstile.call(this, nodes);
        }
    },

    async _onSubmit(ev) {
        if (!this.recaptcha || this.form.querySelector("[name=recaptcha_token_response]")) {
            return; // a plain form post
        }
        ev.preventDefault();
        this.confirmButton.disabled = true;
        let token = "";
        try {
            await this.recaptchaReady;
            token = (await this.recaptcha.getToken(CAPTCHA_ACTION)).token || "";
        } catch {
            // Google unreachable: without a token the server refuses the
            // booking with a clear message, and the form is kept.
        }
        const input = document.createElement("input");
        input.type = "hidden";
        input.name = "recaptcha_token_response";
        input.value = token;
        this.form.append(input);
        this.form.submit();
    },

    _setTimeZone(timeZone) {
        this.timeZone = timeZone;
        this.tzSelect.value = timeZone;
        this.tzInput.value = timeZone;
        this.today = localDay(new Date(), timeZone);
        this.firstDay = this.today;
        if (this.keptStart && !isNaN(new Date(this.keptStart))) {
            // Show the week from the kept slot's day.
            const keptDay = localDay(new Date(this.keptStart), timeZone);
            if (keptDay > this.today) {
                this.firstDay = keptDay;
            }
        }
        this._clearSelection();
        this._loadSlots();
    },

    async _loadSlots() {
        const firstDay = this.firstDay;
        const lastDay = addDays(firstDay, DAYS_PER_PAGE - 1);
        this.el.querySelector(".o_booking_prev").disabled = firstDay <= this.today;
        this.el.querySelector(".o_booking_next").disabled =
            lastDay >= addDays(this.today, this.maxDays);
        this.el.querySelector(".o_booking_week_label").textContent =
            `${this._formatDay(firstDay)} – ${this._formatDay(lastDay)}`;
        this.daysEl.replaceChildren(this._message(_t("Loading free times…")));
        const params = new URLSearchParams({
            start: firstDay,
            end: lastDay,
            tz: this.timeZone,
        });
        let slots = [];
        try {
            const response = await fetch(`${this.slotsUrl}?${params}`, {
                headers: { Accept: "application/json" },
            });
            const data = await response.json();
            if (!response.ok) {
                this.daysEl.replaceChildren(this._message(data.error || _t("Error")));
                return;
            }
            slots = data.slots;
        } catch {
            this.daysEl.replaceChildren(
                this._message(_t("The free times could not be loaded. Please retry."))
            );
            return;
        }
        if (firstDay !== this.firstDay) {
            return; // the guest moved on meanwhile
        }
        this._renderDays(firstDay, slots);
        if (this.keptStart) {
            const kept = [...this.daysEl.querySelectorAll(".o_booking_slot")].find(
                (button) => button.dataset.start === this.keptStart
            );
            this.keptStart = "";
            if (kept) {
                this._onSlotClick({ currentTarget: kept });
            }
        }
    },

    _renderDays(firstDay, slots) {
        const byDay = {};
        for (const slot of slots) {
            const day = localDay(new Date(slot), this.timeZone);
            (byDay[day] ||= []).push(slot);
        }
        const timeFormat = new Intl.DateTimeFormat(this.locale, {
            timeZone: this.timeZone,
            hour: "2-digit",
            minute: "2-digit",
            // 24-hour times, as on the confirmation page and in the mails.
            hourCycle: "h23",
        });
        const container = document.createElement("div");
        container.className = "o_booking_day_list";
        for (let index = 0; index < DAYS_PER_PAGE; index++) {
            const day = addDays(firstDay, index);
            const dayEl = document.createElement("div");
            dayEl.className = "o_booking_day";
            dayEl.dataset.day = day;
            const title = document.createElement("div");
            title.className = "o_booking_day_title fw-bold";
            title.textContent = this._formatDay(day);
            dayEl.append(title);
            const slotsEl = document.createElement("div");
            slotsEl.className = "o_booking_day_slots";
            for (const slot of byDay[day] || []) {
                const button = document.createElement("button");
                button.type = "button";
                button.className = "btn btn-outline-primary btn-sm o_booking_slot";
                button.dataset.start = slot;
                button.textContent = timeFormat.format(new Date(slot));
                slotsEl.append(button);
            }
            if (!slotsEl.children.length) {
                const none = document.createElement("span");
                none.className = "text-muted small";
                none.textContent = _t("No free time");
                slotsEl.append(none);
            }
            dayEl.append(slotsEl);
            container.append(dayEl);
        }
        if (!slots.length) {
            container.prepend(this._message(_t("No free time this week: try the next one.")));
        }
        this.daysEl.replaceChildren(container);
    },

    _formatDay(day) {
        const [year, month, date] = day.split("-").map(Number);
        return new Intl.DateTimeFormat(this.locale, {
            timeZone: "UTC",
            weekday: "short",
            day: "numeric",
            month: "short",
        }).format(new Date(Date.UTC(year, month - 1, date)));
    },

    _message(text) {
        const el = document.createElement("p");
        el.className = "text-muted o_booking_message";
        el.textContent = text;
        return el;
    },

    _clearSelection() {
        this.startInput.value = "";
        this.confirmButton.disabled = true;
        this.selectedText.textContent = _t("Choose a time above.");
    },

    _onTimeZoneChange(ev) {
        this._setTimeZone(ev.currentTarget.value);
    },

    _onPrevious() {
        if (this.firstDay > this.today) {
            const previous = addDays(this.firstDay, -DAYS_PER_PAGE);
            this.firstDay = previous < this.today ? this.today : previous;
            this._loadSlots();
        }
    },

    _onNext() {
        this.firstDay = addDays(this.firstDay, DAYS_PER_PAGE);
        this._loadSlots();
    },

    _onSlotClick(ev) {
        const button = ev.currentTarget;
        for (const other of this.el.querySelectorAll(".o_booking_slot.active")) {
            other.classList.remove("active");
        }
        button.classList.add("active");
        this.startInput.value = button.dataset.start;
        const label = new Intl.DateTimeFormat(this.locale, {
            timeZone: this.timeZone,
            weekday: "long",
            day: "numeric",
            month: "long",
            hour: "2-digit",
            minute: "2-digit",
            hourCycle: "h23",
        }).format(new Date(button.dataset.start));
        this.selectedText.textContent = _t("Selected: %(time)s (%(tz)s)", {
            time: label,
            tz: this.timeZone,
        });
        this.confirmButton.disabled = false;
        this.form.classList.remove("d-none");
        const nameInput = this.form.querySelector("input[name=name]");
        if (nameInput) {
            nameInput.focus();
        }
    },
});

/** The guest's page of a booking: cancelling asks first. */
publicWidget.registry.ZoomBookingCancel = publicWidget.Widget.extend({
    selector: ".o_booking_confirmation",
    events: {
        "click .o_booking_cancel": "_onAskToCancel",
        "click .o_booking_cancel_keep": "_onKeep",
    },

    _onAskToCancel() {
        this.el.querySelector(".o_booking_cancel_form").classList.remove("d-none");
        this.el.querySelector(".o_booking_cancel_confirm").focus();
    },

    _onKeep() {
        this.el.querySelector(".o_booking_cancel_form").classList.add("d-none");
    },
});

export default publicWidget.registry.ZoomBookingPage;
