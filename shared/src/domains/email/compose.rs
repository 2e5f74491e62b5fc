//! Each template's words, in English and Chinese, composed into a [`Letter`].
//!
//! Text that comes from outside (names, titles, questions, replies, reasons) is made one line
//! here where it must be ([`one_line`]); escaping is the HTML template's job.

use chrono::{DateTime, Utc};

use super::letter::{Letter, LineTable, Link, Quote, Section, one_line};
use super::locale::Locale::{self, En, Zh};
use super::request::{
    ClaimAwaiting, ClaimEmail, ClaimReader, EmailContent, EmailRequest, OrderEmail, QuestionDue, RefundAwaiting,
    RefundEmail, ReplyEmail, ReviewAlert, ReviewTrendAlert, SellerDigest, StatusReply, StockAlert, StockLevel,
};
use super::words::{reason_words, say};

pub fn compose(request: &EmailRequest) -> Letter {
    let locale = Locale::from_tag(&request.locale);
    let name = one_line(&request.recipient.name);
    let mut letter = Letter {
        locale,
        subject: String::new(),
        greeting: match locale {
            En => format!("Hello {name},"),
            Zh => format!("{name}，您好："),
        },
        paragraphs: Vec::new(),
        quotes: Vec::new(),
        facts: Vec::new(),
        table: None,
        scorecard: Vec::new(),
        sections: Vec::new(),
        link: None,
        sign_off: match locale {
            En => "— The Marketplace team".to_owned(),
            Zh => "—— 平台团队敬上".to_owned(),
        },
    };
    match &request.content {
        EmailContent::OrderConfirmation(order) => order_confirmation(&mut letter, order),
        EmailContent::BackorderNotice(order) => backorder_notice(&mut letter, order),
        EmailContent::BackorderFilled(order) => backorder_filled(&mut letter, order),
        EmailContent::Cancellation(order) => cancellation(&mut letter, order),
        EmailContent::ShippingConfirmation(order) => shipping_confirmation(&mut letter, order),
        EmailContent::DelayNotice(order) => delay_notice(&mut letter, order),
        EmailContent::ReviewRequest(order) => review_request(&mut letter, order),
        EmailContent::RefundConfirmation(refund) => refund_confirmation(&mut letter, refund),
        EmailContent::RefundRejected(refund) => refund_rejected(&mut letter, refund),
        EmailContent::ClaimDecided(claim) => claim_decided(&mut letter, claim),
        EmailContent::QuestionReply(reply) => question_reply(&mut letter, reply),
        EmailContent::OrderStatusReply(reply) => order_status_reply(&mut letter, reply),
        EmailContent::SellerDigest(digest) => seller_digest(&mut letter, digest),
        EmailContent::SellerWeekly(week) => super::weekly::seller_weekly(&mut letter, week),
    }
    letter.subject = one_line(&letter.subject);
    letter
}

fn order_confirmation(letter: &mut Letter, order: &OrderEmail) {
    let (l, id) = (letter.locale, one_line(&order.order_id));
    let ship_by = l.date(order.ship_by);
    letter.subject = say(
        l,
        format!("Your order {id} is confirmed"),
        format!("您的订单 {id} 已确认"),
    );
    letter.paragraphs.push(say(
        l,
        format!("Thank you for your order. The seller will ship it by {ship_by}."),
        format!("感谢您的订购。卖家将于{ship_by}前发货。"),
    ));
    order_details(letter, order);
}

fn backorder_notice(letter: &mut Letter, order: &OrderEmail) {
    let (l, id) = (letter.locale, one_line(&order.order_id));
    letter.subject = say(
        l,
        format!("Your order {id} is waiting for stock"),
        format!("您的订单 {id} 正在等待补货"),
    );
    letter.paragraphs.push(match order.expected_by.map(|at| l.date(at)) {
        Some(date) => say(
            l,
            format!("Some items in your order are not in stock right now. We expect your order to be ready by {date}, and we will email you when it is being prepared."),
            format!("您订单中的部分商品暂时缺货。预计将于{date}前备齐，开始备货时我们会再发邮件通知您。"),
        ),
        None => say(
            l,
            "Some items in your order are not in stock right now. We will email you as soon as the seller restocks and your order is being prepared.".to_owned(),
            "您订单中的部分商品暂时缺货。卖家补货并开始备货后，我们会立即发邮件通知您。".to_owned(),
        ),
    });
    order_details(letter, order);
}

fn backorder_filled(letter: &mut Letter, order: &OrderEmail) {
    let (l, id) = (letter.locale, one_line(&order.order_id));
    letter.subject = say(
        l,
        format!("Your order {id} is being prepared"),
        format!("您的订单 {id} 正在备货"),
    );
    letter.paragraphs.push(say(
        l,
        "Good news: the items you were waiting for are back in stock, and your order is on its way to being prepared for shipping.".to_owned(),
        "好消息：您等待的商品已经到货，您的订单正在备货，即将发出。".to_owned(),
    ));
    order_details(letter, order);
}

fn cancellation(letter: &mut Letter, order: &OrderEmail) {
    let (l, id) = (letter.locale, one_line(&order.order_id));
    letter.subject = say(
        l,
        format!("Your order {id} has been cancelled"),
        format!("您的订单 {id} 已取消"),
    );
    letter.paragraphs.push(say(
        l,
        "Your order has been cancelled. If you paid for it, your payment will be returned to you.".to_owned(),
        "您的订单已取消。如您已付款，款项将退还给您。".to_owned(),
    ));
    order_details(letter, order);
}

fn shipping_confirmation(letter: &mut Letter, order: &OrderEmail) {
    let (l, id) = (letter.locale, one_line(&order.order_id));
    letter.subject = say(
        l,
        format!("Your order {id} has shipped"),
        format!("您的订单 {id} 已发货"),
    );
    letter.paragraphs.push(say(
        l,
        "Good news: your order is on its way.".to_owned(),
        "好消息：您的订单已经发出。".to_owned(),
    ));
    order_details(letter, order);
    shipment_facts(letter, order);
}

/// The carrier, the tracking number and the tracking link, when the order shipped.
fn shipment_facts(letter: &mut Letter, order: &OrderEmail) {
    let l = letter.locale;
    if let Some(shipment) = &order.shipment {
        letter
            .facts
            .push((say(l, "Carrier".into(), "承运商".into()), one_line(&shipment.carrier)));
        letter.facts.push((
            say(l, "Tracking number".into(), "运单号".into()),
            one_line(&shipment.tracking_number),
        ));
        letter.link = shipment
            .tracking_url
            .as_deref()
            .and_then(|url| Link::https(say(l, "Track your parcel".into(), "查询物流".into()), url));
    }
}

fn delay_notice(letter: &mut Letter, order: &OrderEmail) {
    let (l, id) = (letter.locale, one_line(&order.order_id));
    let ship_by = l.date(order.ship_by);
    letter.subject = say(
        l,
        format!("Your order {id} is delayed"),
        format!("您的订单 {id} 发货延迟"),
    );
    letter.paragraphs.push(say(
        l,
        format!("Your order was due to ship by {ship_by} and has not shipped yet. We have asked the seller to ship it as soon as possible. We are sorry for the wait."),
        format!("您的订单原定于{ship_by}前发货，但目前尚未发出。我们已提醒卖家尽快发货，抱歉让您久等。"),
    ));
    order_details(letter, order);
}

fn review_request(letter: &mut Letter, order: &OrderEmail) {
    let (l, id) = (letter.locale, one_line(&order.order_id));
    letter.subject = say(
        l,
        format!("How was your order {id}?"),
        format!("您对订单 {id} 满意吗？"),
    );
    letter.paragraphs.push(say(
        l,
        "Your order has been delivered. If you have a minute, tell other buyers what you think of it.".to_owned(),
        "您的订单已送达。如果方便，请分享您的评价，帮助其他买家。".to_owned(),
    ));
    order_details(letter, order);
}

/// The order number, and its lines with their prices and total.
fn order_details(letter: &mut Letter, order: &OrderEmail) {
    let l = letter.locale;
    letter
        .facts
        .push((say(l, "Order".into(), "订单号".into()), one_line(&order.order_id)));
    letter.table = Some(LineTable {
        header: match l {
            En => ["Item", "Qty", "Price", "Total"].map(str::to_owned),
            Zh => ["商品", "数量", "单价", "小计"].map(str::to_owned),
        },
        rows: order
            .lines
            .iter()
            .map(|line| {
                [
                    item_name(&line.sku, line.title.as_deref()),
                    line.quantity.to_string(),
                    l.money(&line.unit_price, &order.currency),
                    l.money(&line.line_total, &order.currency),
                ]
            })
            .collect(),
        total_label: say(l, "Order total".into(), "订单总额".into()),
        total: l.money(&order.total, &order.currency),
    });
}

fn refund_confirmation(letter: &mut Letter, refund: &RefundEmail) {
    let (l, id) = (letter.locale, one_line(&refund.order_id));
    let amount = l.money(&refund.amount, &refund.currency);
    letter.subject = say(l, format!("Your refund for order {id}"), format!("订单 {id} 的退款"));
    letter.paragraphs.push(say(
        l,
        format!("We have refunded {amount} for order {id}. It may take a few days to appear on your statement."),
        format!("我们已为订单 {id} 退款{amount}。款项可能需要几天才会到账。"),
    ));
    refund_details(letter, refund, ["Refund total", "退款总额"]);
}

/// The order number, and the refund's lines with what each gives back, under `total_label`
/// (English, Chinese).
fn refund_details(letter: &mut Letter, refund: &RefundEmail, total_label: [&str; 2]) {
    let l = letter.locale;
    letter
        .facts
        .push((say(l, "Order".into(), "订单号".into()), one_line(&refund.order_id)));
    if refund.lines.is_empty() {
        return;
    }
    letter.table = Some(LineTable {
        header: match l {
            En => ["Item", "Qty", "Price", "Refund"].map(str::to_owned),
            Zh => ["商品", "数量", "单价", "退款"].map(str::to_owned),
        },
        rows: refund
            .lines
            .iter()
            .map(|line| {
                [
                    item_name(&line.sku, line.title.as_deref()),
                    line.quantity.to_string(),
                    l.money(&line.unit_price, &refund.currency),
                    l.money(&line.amount, &refund.currency),
                ]
            })
            .collect(),
        total_label: say(l, total_label[0].into(), total_label[1].into()),
        total: l.money(&refund.amount, &refund.currency),
    });
}

/// A line's product: its title and SKU, or the SKU alone.
fn item_name(sku: &str, title: Option<&str>) -> String {
    match title {
        Some(title) => format!("{} ({})", one_line(title), one_line(sku)),
        None => one_line(sku),
    }
}

fn refund_rejected(letter: &mut Letter, refund: &RefundEmail) {
    let (l, id) = (letter.locale, one_line(&refund.order_id));
    let amount = l.money(&refund.amount, &refund.currency);
    letter.subject = say(
        l,
        format!("Your refund request for order {id}"),
        format!("订单 {id} 的退款申请"),
    );
    letter.paragraphs.push(say(
        l,
        format!("The seller has declined your request to refund {amount} for order {id}."),
        format!("卖家拒绝了您对订单 {id} 的{amount}退款申请。"),
    ));
    refund_details(letter, refund, ["Requested", "申请退款"]);
    if let Some(reason) = &refund.reason {
        letter.quotes.push(Quote {
            label: say(l, "The seller's reason".into(), "卖家的说明".into()),
            text: reason.clone(),
        });
    }
    letter.paragraphs.push(say(
        l,
        "If you disagree, you can contact the seller through the marketplace.".to_owned(),
        "如有异议，您可以通过平台联系卖家。".to_owned(),
    ));
}

fn claim_decided(letter: &mut Letter, claim: &ClaimEmail) {
    let (l, id, order) = (letter.locale, one_line(&claim.claim_id), one_line(&claim.order_id));
    letter.subject = say(
        l,
        format!("Decision on claim {id} for order {order}"),
        format!("订单 {order} 的申诉 {id} 处理结果"),
    );
    let amount = claim.amount.as_deref().map(|amount| l.money(amount, &claim.currency));
    let by_marketplace = claim.paid_by.as_deref() == Some("marketplace");
    let decided = match (claim.reader, amount, by_marketplace) {
        (_, None, _) => match claim.reader {
            ClaimReader::Buyer => say(
                l,
                "Our support team reviewed your claim and could not grant it.".into(),
                "我们的客服团队审核了您的申诉，未能予以支持。".into(),
            ),
            ClaimReader::Seller => say(
                l,
                format!("Our support team reviewed the buyer's claim on order {order} and decided in your favour."),
                format!("我们的客服团队审核了买家对订单 {order} 的申诉，结果对您有利。"),
            ),
        },
        (ClaimReader::Buyer, Some(amount), _) => say(
            l,
            format!("Our support team reviewed your claim: {amount} is refunded to you."),
            format!("我们的客服团队审核了您的申诉：将向您退款{amount}。"),
        ),
        (ClaimReader::Seller, Some(amount), true) => say(
            l,
            format!("Our support team refunded the buyer {amount} on order {order}; the marketplace pays it."),
            format!("我们的客服团队已就订单 {order} 向买家退款{amount}，由平台承担。"),
        ),
        (ClaimReader::Seller, Some(amount), false) => say(
            l,
            format!("Our support team refunded the buyer {amount} on order {order}; it is charged to your account."),
            format!("我们的客服团队已就订单 {order} 向买家退款{amount}，该款项将从您的账户扣除。"),
        ),
    };
    letter.paragraphs.push(decided);
    letter.quotes.push(Quote {
        label: say(l, "Our reason".into(), "处理说明".into()),
        text: claim.reason.clone(),
    });
}

fn claim_line(l: Locale, claim: &ClaimAwaiting) -> String {
    let (claim_id, order_id) = (one_line(&claim.claim_id), one_line(&claim.order_id));
    let amount = l.money(&claim.amount, &claim.currency);
    let reason = claim_reason(l, &claim.reason);
    let mut line = say(
        l,
        format!("Claim {claim_id} on order {order_id} ({reason}) for {amount}"),
        format!("订单 {order_id} 的申诉 {claim_id}（{reason}，{amount}）"),
    );
    if let Some(note) = &claim.note {
        line += &say(l, format!(" “{}”", one_line(note)), format!("：“{}”", one_line(note)));
    }
    let due = due_at(l, claim.due_at);
    match (claim.reminder, l) {
        (false, Zh) => format!("{line}，请于{due}前回应，逾期将交由平台客服裁定"),
        (false, En) => format!("{line}: respond by {due}, or the marketplace decides"),
        (true, Zh) => format!("提醒：{line}，请于{due}前回应，逾期将交由平台客服裁定"),
        (true, En) => format!("Reminder: {line}: respond by {due}, or the marketplace decides"),
    }
}

fn claim_reason(l: Locale, code: &str) -> String {
    let (english, chinese) = match code {
        "not_received" => ("not received", "未收到货"),
        "not_as_described" => ("not as described", "与描述不符"),
        "refund_refused" => ("refund refused", "退款被拒"),
        "refund_not_paid" => ("refund not paid", "退款未到账"),
        "no_seller_response" => ("no answer from the seller", "卖家未回复"),
        other => return one_line(other),
    };
    say(l, english.into(), chinese.into())
}

fn question_reply(letter: &mut Letter, reply: &ReplyEmail) {
    let l = letter.locale;
    letter.subject = match reply.order_id.as_deref().map(one_line) {
        Some(id) => say(
            l,
            format!("Re: your question about order {id}"),
            format!("回复：您关于订单 {id} 的咨询"),
        ),
        None => say(l, "Re: your question".to_owned(), "回复：您的咨询".to_owned()),
    };
    letter.paragraphs.push(say(
        l,
        "Here is the answer to your question.".to_owned(),
        "以下是对您问题的答复。".to_owned(),
    ));
    letter.quotes.push(Quote {
        label: say(l, "You asked".into(), "您的问题".into()),
        text: reply.question.0.clone(),
    });
    letter.quotes.push(Quote {
        label: say(l, "Answer".into(), "答复".into()),
        text: reply.reply.0.clone(),
    });
}

/// What the order knows, in answer to "where is my order": its status, and the shipment's
/// carrier, tracking and date, or the date it is expected to ship.
fn order_status_reply(letter: &mut Letter, reply: &StatusReply) {
    let (l, order) = (letter.locale, &reply.order);
    let id = one_line(&order.order_id);
    letter.subject = say(
        l,
        format!("Re: where is your order {id}"),
        format!("回复：您的订单 {id} 到哪了"),
    );
    letter.quotes.push(Quote {
        label: say(l, "You asked".into(), "您的问题".into()),
        text: reply.question.0.clone(),
    });
    let status = match (reply.status.as_str(), reply.delivered_at, reply.shipped_at) {
        ("delivered", Some(at), _) => say(
            l,
            format!("Your order was delivered on {}.", l.date(at)),
            format!("您的订单已于{}送达。", l.date(at)),
        ),
        ("shipped" | "delivered", _, Some(at)) => say(
            l,
            format!("Your order shipped on {} and is on its way.", l.date(at)),
            format!("您的订单已于{}发货，正在运输途中。", l.date(at)),
        ),
        ("backordered", _, _) => match order.expected_by {
            Some(at) => say(
                l,
                format!(
                    "Part of your order is waiting for stock; it is expected to ship by {}.",
                    l.date(at)
                ),
                format!("您的订单有商品正在等待补货，预计于{}前发货。", l.date(at)),
            ),
            None => say(
                l,
                "Part of your order is waiting for stock; the seller will ship it as soon as it arrives.".into(),
                "您的订单有商品正在等待补货，到货后卖家会尽快发货。".into(),
            ),
        },
        ("cancelled", _, _) => say(l, "Your order was cancelled.".into(), "您的订单已取消。".into()),
        _ => say(
            l,
            format!(
                "Your order is being prepared and will ship by {}.",
                l.date(order.ship_by)
            ),
            format!("您的订单正在备货，将于{}前发货。", l.date(order.ship_by)),
        ),
    };
    letter.paragraphs.push(status);
    letter.facts.push((say(l, "Order".into(), "订单号".into()), id.clone()));
    shipment_facts(letter, order);
    letter.paragraphs.push(say(
        l,
        "If this does not answer your question, reply on the marketplace and the seller will help.".into(),
        "如果这没有解答您的问题，请在平台上回复，卖家会为您处理。".into(),
    ));
}

fn seller_digest(letter: &mut Letter, digest: &SellerDigest) {
    let l = letter.locale;
    let count = digest.stock.len()
        + digest.reviews.len()
        + digest.review_trends.len()
        + digest.refunds_awaiting.len()
        + digest.claims_awaiting.len()
        + digest.questions_due.len()
        + digest.late_orders.len();
    letter.subject = say(
        l,
        format!(
            "{count} {} need your attention",
            if count == 1 { "item" } else { "items" }
        ),
        format!("{count} 项事务需要您处理"),
    );
    let mut section = |heading: String, items: Vec<String>| {
        if !items.is_empty() {
            letter.sections.push(Section { heading, items });
        }
    };
    section(
        say(l, "Stock".into(), "库存".into()),
        digest.stock.iter().map(|alert| stock_line(l, alert)).collect(),
    );
    section(
        say(l, "Negative reviews".into(), "差评".into()),
        digest.reviews.iter().map(|review| review_line(l, review)).collect(),
    );
    section(
        say(l, "Review trends".into(), "评价趋势".into()),
        digest.review_trends.iter().map(|trend| trend_line(l, trend)).collect(),
    );
    section(
        say(l, "Refunds awaiting your decision".into(), "待您处理的退款".into()),
        digest
            .refunds_awaiting
            .iter()
            .map(|refund| refund_line(l, refund))
            .collect(),
    );
    section(
        say(
            l,
            "Buyer protection claims awaiting your response".into(),
            "待您回应的买家保障申诉".into(),
        ),
        digest
            .claims_awaiting
            .iter()
            .map(|claim| claim_line(l, claim))
            .collect(),
    );
    section(
        say(l, "Questions to answer".into(), "待回复的咨询".into()),
        digest
            .questions_due
            .iter()
            .map(|question| question_line(l, question))
            .collect(),
    );
    section(
        say(
            l,
            "Orders past their ship-by date".into(),
            "已超过发货期限的订单".into(),
        ),
        digest
            .late_orders
            .iter()
            .map(|late| {
                let (id, by) = (one_line(&late.order_id), due_at(l, late.ship_by));
                say(
                    l,
                    format!("Order {id} was due to ship by {by}: the buyer has been told of the delay"),
                    format!("订单 {id} 应于{by}前发货：已通知买家延迟"),
                )
            })
            .collect(),
    );
}

fn stock_line(l: Locale, alert: &StockAlert) -> String {
    let (sku, available) = (one_line(&alert.sku), alert.available);
    match alert.level {
        StockLevel::Out => say(l, format!("{sku}: out of stock"), format!("{sku}：已售罄")),
        StockLevel::Low => say(
            l,
            format!("{sku}: low stock, {available} available"),
            format!("{sku}：库存偏低，可售 {available} 件"),
        ),
        StockLevel::RunningOut => {
            let days = alert.days_of_cover.unwrap_or_default();
            let lead = alert.lead_time_days.unwrap_or_default();
            say(
                l,
                format!(
                    "{sku}: running out, {available} available, about {days} days of cover; a restock takes {lead} days"
                ),
                format!("{sku}：即将售罄，可售 {available} 件，约可维持 {days} 天，补货需 {lead} 天"),
            )
        }
    }
}

fn review_line(l: Locale, review: &ReviewAlert) -> String {
    let (sku, rating) = (one_line(&review.sku), review.rating);
    let words: Vec<String> = review.reasons.iter().map(|key| reason_words(l, key)).collect();
    let reason = words.join(&say(l, ", ".into(), "、".into()));
    let excerpt = one_line(&review.excerpt);
    let verified = match (review.verified, l) {
        (false, _) => "",
        (true, Zh) => "（已验证购买）",
        (true, En) => " (verified purchase)",
    };
    say(
        l,
        format!("{sku}: {rating}★ review ({reason}){verified}: “{excerpt}”"),
        format!("{sku}：{rating} 星评价（{reason}）{verified}：“{excerpt}”"),
    )
}

fn trend_line(l: Locale, trend: &ReviewTrendAlert) -> String {
    let (sku, reviews, days) = (one_line(&trend.sku), trend.reviews, trend.window_days);
    match trend.average.as_deref() {
        Some(average) => {
            let average = one_line(average);
            say(
                l,
                format!("{sku}: average {average}★ over {reviews} reviews in {days} days, below your threshold"),
                format!("{sku}：近 {days} 天 {reviews} 条评价平均 {average} 星，低于您设定的阈值"),
            )
        }
        None => {
            let reason = reason_words(l, &trend.trend);
            say(
                l,
                format!("{sku}: {reviews} negative reviews about {reason} in {days} days"),
                format!("{sku}：{days} 天内 {reviews} 条差评提到{reason}"),
            )
        }
    }
}

fn refund_line(l: Locale, refund: &RefundAwaiting) -> String {
    let (refund_id, order_id) = (one_line(&refund.refund_id), one_line(&refund.order_id));
    let amount = l.money(&refund.amount, &refund.currency);
    let mut line = say(
        l,
        format!("Refund {refund_id} of {amount} for order {order_id}"),
        format!("订单 {order_id} 的退款 {refund_id}（{amount}）"),
    );
    if let Some(reason) = &refund.reason {
        line += &say(
            l,
            format!(", {}", refund_reason(En, reason)),
            format!("，{}", refund_reason(Zh, reason)),
        );
    }
    if let Some(note) = &refund.note {
        line += &say(l, format!(" “{}”", one_line(note)), format!("：“{}”", one_line(note)));
    }
    let Some(due) = refund.due_at.map(|due| due_at(l, due)) else {
        return line;
    };
    match (refund.reminder, l) {
        (false, Zh) => format!("{line}，请于{due}前处理，逾期将自动同意"),
        (false, En) => format!("{line}: decide by {due}, or it is approved for you"),
        (true, Zh) => format!("提醒：{line}，请于{due}前处理，逾期将自动同意"),
        (true, En) => format!("Reminder: {line}: decide by {due}, or it is approved for you"),
    }
}

/// A buyer's refund reason in the seller's words; a code this version does not know is
/// shown as it came.
fn refund_reason(l: Locale, code: &str) -> String {
    let (en, zh) = match code {
        "damaged" => ("arrived damaged", "到货破损"),
        "defective" => ("defective", "质量问题"),
        "not_as_described" => ("not as described", "与描述不符"),
        "wrong_item" => ("wrong item sent", "发错货"),
        "not_received" => ("not received", "未收到货"),
        "no_longer_needed" => ("no longer needed", "不想要了"),
        "other" => ("other reason", "其他原因"),
        other => return one_line(other),
    };
    say(l, en.to_owned(), zh.to_owned())
}

fn question_line(l: Locale, question: &QuestionDue) -> String {
    let (id, excerpt) = (one_line(&question.question_id), one_line(&question.excerpt));
    let due = due_at(l, question.due_at);
    let line = say(
        l,
        format!("Question {id}, answer by {due}: “{excerpt}”"),
        format!("咨询 {id}，请于{due}前回复：“{excerpt}”"),
    );
    match (question.overdue, question.reminder) {
        (true, _) => say(l, format!("Overdue: {line}"), format!("已超时：{line}")),
        (false, true) => say(l, format!("Reminder: {line}"), format!("提醒：{line}")),
        _ => line,
    }
}

fn due_at(l: Locale, at: DateTime<Utc>) -> String {
    format!("{} {} UTC", l.date(at), at.format("%H:%M"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domains::email::request::{OrderEmailLine, Recipient, RecipientRole, ShipmentEmail};
    use crate::values::pii::EmailAddress;

    fn shipped(locale: &str, title: &str) -> EmailRequest {
        let at: DateTime<Utc> = "2026-11-22T10:00:00Z".parse().unwrap();
        EmailRequest {
            dedupe_key: "k".into(),
            recipient: Recipient {
                role: RecipientRole::Buyer,
                id: "buy_1".into(),
                name: "Li\r\nWei".into(),
                email: EmailAddress::parse("li.wei@example.cn").unwrap(),
            },
            locale: locale.into(),
            content: EmailContent::ShippingConfirmation(OrderEmail {
                order_id: "ord_1".into(),
                seller_id: "sel_1".into(),
                currency: "USD".into(),
                total: "1049.97".into(),
                lines: vec![OrderEmailLine {
                    sku: "POT-1".into(),
                    title: Some(title.into()),
                    quantity: 3,
                    unit_price: "349.99".into(),
                    line_total: "1049.97".into(),
                }],
                placed_at: at,
                ship_by: at,
                expected_by: None,
                shipment: Some(ShipmentEmail {
                    carrier: "UPS".into(),
                    tracking_number: "1Z999".into(),
                    tracking_url: Some("https://track.example/1Z999?a=1&b=2".into()),
                }),
            }),
        }
    }

    #[test]
    fn user_text_is_escaped_in_html_and_kept_in_text() {
        let rendered = compose(&shipped("en", "<script>alert(1)</script>")).render().unwrap();
        assert!(!rendered.html.contains("<script>"), "{}", rendered.html);
        assert!(
            rendered
                .html
                .contains("&#60;script&#62;alert(1)&#60;/script&#62; (POT-1)")
        );
        assert!(
            rendered
                .html
                .contains("href=\"https://track.example/1Z999?a=1&#38;b=2\"")
        );
        assert!(
            rendered
                .text
                .contains("<script>alert(1)</script> (POT-1) x 3 @ $349.99 = $1,049.97")
        );
        assert!(rendered.text.contains("Hello Li Wei,"), "one line: {}", rendered.text);
        assert_eq!(rendered.subject, "Your order ord_1 has shipped");
    }

    #[test]
    fn chinese_buyers_read_chinese_and_unknown_locales_read_english() {
        let zh = compose(&shipped("zh-CN", "紫砂壶")).render().unwrap();
        assert_eq!(zh.subject, "您的订单 ord_1 已发货");
        assert!(zh.text.contains("Li Wei，您好："));
        assert!(zh.text.contains("运单号: 1Z999"));
        assert!(zh.html.contains("lang=\"zh\""));
        assert!(zh.text.contains("US$1,049.97"));
        let fr = compose(&shipped("fr", "Théière")).render().unwrap();
        assert_eq!(fr.subject, "Your order ord_1 has shipped");
    }

    #[test]
    fn a_link_is_only_ever_https() {
        let mut request = shipped("en", "Pot");
        if let EmailContent::ShippingConfirmation(order) = &mut request.content {
            order.shipment.as_mut().unwrap().tracking_url = Some("javascript:alert(1)".into());
        }
        let rendered = compose(&request).render().unwrap();
        assert!(!rendered.html.contains("javascript:"));
        assert!(!rendered.html.contains("<a "));
    }
}
