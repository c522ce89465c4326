"""Hand-written sentence pools for the template half of the complaint corpus (`claims.complaint.corpus`).

Plain data: `corpus._complaint` and `corpus._short` draw from these at random, fill `{item}`, `{shop}`,
`{airline}`, `{num}` and `{courier}`, then add typos and casing noise. Only the corpus generator imports this.
"""
from __future__ import annotations

ITEMS = [
    "mug", "coffee mug", "vase", "lamp", "table lamp", "mirror", "picture frame", "TV", "monitor", "laptop",
    "phone", "tablet", "camera", "headphones", "speaker", "keyboard", "printer", "router", "game console",
    "watch", "chair", "desk", "bookshelf", "coffee table", "side table", "dresser", "blender", "kettle",
    "toaster", "microwave", "coffee maker", "frying pan", "teapot", "wine glasses", "dinner plates",
    "salad bowl", "glass jar", "perfume", "candle", "cookbook", "jigsaw puzzle", "Lego set", "doll house",
    "guitar", "ukulele", "sneakers", "boots", "jacket", "handbag", "suitcase", "umbrella", "floor tiles",
    "bathroom sink", "desk fan", "heater", "vacuum cleaner", "mini fridge", "wall clock", "figurine",
    "ceramic bowl", "tea set", "fish tank", "drone", "projector", "sunglasses", "birthday cake", "plant pot",
    "rug", "painting", "poster", "vinyl record", "board game", "skateboard", "stroller", "crib", "air fryer",
    "stand mixer", "espresso machine", "bike helmet", "bicycle", "office chair", "bed frame", "mattress",
    "ceiling light", "phone case", "smartwatch", "e-reader", "glass shelf", "aquarium", "serving platter",
]
SHOPS = ["@ShopCo", "@HomeGoods", "@QuickCart", "@parcelpal", "@MegaMart", "@TechBarn", "@casa_deco",
         "@BuyRight", "@FurniHaus", "@GadgetZone"]
AIRLINES = ["@united", "@AmericanAir", "@Delta", "@SouthwestAir", "@JetBlue", "@VirginAmerica", "@USAirways",
            "@British_Airways", "@Ryanair", "@easyJet", "@AirCanada", "@lufthansa"]
COURIERS = ["the courier", "the driver", "the delivery guy", "UPS", "DHL", "FedEx", "the postman", "USPS"]

DAMAGE_SENTENCES = {
    "broken": [
        "my {item} arrived broken", "the {item} is cracked", "the {item} shattered in the box",
        "the {item} came in pieces", "the {item} was snapped in half", "the {item} arrived smashed",
        "the {item} is completely destroyed", "one leg of the {item} snapped off", "the {item} has a huge crack",
        "the screen on the {item} is cracked", "the {item} is broken beyond repair",
        "I opened it and the {item} was in three pieces", "the handle of the {item} came off",
        "there's glass everywhere, the {item} broke", "the {item} arrived DOA, cracked case and all",
        "the {item} is chipped and cracked along the side", "the {item} is bent and won't stand up",
        "found the {item} in bits", "the {item} was shattered", "the {item} is busted",
    ],
    "crushed_packaging": [
        "the box was crushed", "the package arrived completely squashed", "the box was dented and caved in",
        "the parcel was crushed flat", "the outer box was all bent and battered",
        "the box looked like someone sat on it", "the carton was crumpled", "the package was smashed in on one side",
        "the box was beaten up", "the packaging was deformed", "the parcel came totally mangled",
        "the corner of the box was caved in",
    ],
    "torn_packaging": [
        "the packaging was torn open", "the package arrived ripped", "the box had a big hole in it",
        "the tape was cut and the box had been opened", "the envelope was ripped", "the box was torn on every side",
        "someone clearly opened the package and resealed it", "the mailer bag was split open",
        "there was a hole punched in the side of the box", "the parcel was torn and half the padding was gone",
        "the seal was broken when it arrived",
    ],
    "water_damage": [
        "the box was soaking wet", "the {item} is water damaged", "everything inside was damp and smells of mould",
        "the parcel was left in the rain and the {item} got soaked", "there are water stains all over the {item}",
        "the {item} arrived wet", "the package was sitting in a puddle and the {item} is ruined by water",
        "the {item} has mold on it", "it was drenched when it arrived", "water got inside the box",
        "the {item} was soggy", "the cardboard was soaked through and the {item} is wet",
    ],
    "surface_damage": [
        "the {item} has deep scratches", "there are scuffs all over the {item}", "the {item} is scratched",
        "there's a dent on the side of the {item}", "the {item} has stains on it", "the paint is chipped on the {item}",
        "the {item} is covered in scratches", "the finish on the {item} is scraped off in places",
        "the {item} has a big scuff mark on the front", "the top of the {item} is dented",
        "the {item} has some ugly marks on it", "the {item} is discoloured in patches",
    ],
}
NO_DAMAGE_SENTENCES = [
    "the {item} arrived fine but it's the wrong colour", "everything arrived intact, but a part is missing",
    "the {item} is in perfect condition but it's not what I ordered", "the {item} arrived undamaged but it doesn't turn on",
    "the {item} looks fine but it's the wrong size", "no damage at all, but you sent two instead of one",
]
ITEM_FINE_AFTER = [
    "but the {item} itself is fine", "luckily the {item} inside is fine", "though the {item} seems ok",
    "but the {item} is undamaged", "but thankfully the {item} survived",
]
OTHER_PROBLEMS = [
    "my package never arrived", "I got the wrong item", "the order is three weeks late", "half my order is missing",
    "I was charged twice for the same order", "the tracking hasn't updated in 10 days",
    "the {item} doesn't work", "the {item} stopped working after two days", "you sent me the wrong size",
    "the delivery was marked as delivered but nothing came", "my order was cancelled without explanation",
]
AIRLINE_PROBLEMS = [
    "my flight was cancelled", "my flight has been delayed 5 hours", "you lost my luggage",
    "my bag came off the carousel with a broken handle", "my suitcase arrived soaked", "I missed my connection because of your delay",
    "I was bumped from an overbooked flight", "I've been stuck on the tarmac for 2 hours", "the wifi didn't work the whole flight",
    "my seat was broken and wouldn't recline", "you charged me a bag fee twice", "my checked bag is still missing after 3 days",
    "my flight got Cancelled Flightled and nobody told me", "the gate changed three times and nobody announced it",
]
OTHER_DOMAIN_PROBLEMS = [
    "my internet has been down for three days", "my food arrived cold and half of it was missing",
    "I was charged for a subscription I cancelled", "my bank card was blocked for no reason",
    "the technician never showed up", "my phone bill is double what it should be",
    "my grocery delivery had smashed eggs and a leaking milk carton", "the hotel room was dirty",
]

REFUND = [
    "I want a refund.", "Please refund me.", "I'd like my money back.", "Refund please.", "Can I get a full refund?",
    "Give me my money back!", "I expect a full refund.", "Please process a refund to my card.",
    "I want to return it for a refund.", "I'd like to be reimbursed.", "Just refund the order.",
    "Cancel it and refund me.", "Where is my refund?", "I want my money back, full stop.", "How do I get a refund?",
    "refund pls", "Please give me a refund asap.", "I'm requesting a refund.", "Could you refund the full amount?",
    "Money back please.", "I need this refunded today.", "Please reimburse me for the {item}.",
    "I would like a refund for this order.", "Refund me now.", "I just want my money back.",
]
REPLACEMENT = [
    "Please send a replacement.", "Can you send me a new one?", "I'd like a replacement.", "Just send another one.",
    "Could you replace it?", "I want an exchange.", "Please ship a new {item}.", "Could I get one that isn't broken?",
    "Please send me a replacement {item}.", "replacement pls", "I need a new one before Friday.",
    "Can you resend the order?", "Please exchange it for a working one.", "Send me a new {item} please.",
    "I would like the {item} replaced.", "Could you swap it for a new one?", "I want a replacement, not excuses.",
]
NEGATED_TO_REPLACEMENT = [
    "No need for a refund, a replacement is fine.", "I don't want a refund, just send a new one.",
    "Not asking for my money back, just a working one.", "I'd rather have a replacement than a refund.",
    "No refund please, I really want the {item}, so send another.",
]
NEGATED_TO_REFUND = [
    "I don't want another one, just refund me.", "Don't bother with a replacement, I want my money back.",
    "A replacement won't help, I need a refund.", "No replacement please, refund me instead.",
    "I don't want a new one, give me my money back.",
]
UNSPECIFIED_ASKS = [
    "", "", "", "", "What can you do?", "Please advise.", "What are my options?", "Please let me know what happens next.",
    "Either a refund or a replacement is fine.", "Can you help?", "Please look into this.", "What should I do with it?",
]

HUMAN_POLITE = [
    "Could I please speak to someone?", "I'd like to talk to a person about this, please.",
    "Can a representative call me?", "Please have someone call me at 555-0134.", "Is it possible to talk to a real person?",
    "Can you connect me with an agent?", "I'd prefer to discuss this by phone.", "Could a manager contact me?",
    "May I speak to a supervisor please?", "Please transfer me to customer service.", "Can I talk to a human please?",
    "I would like to speak with a representative.", "Could someone from your team give me a call?",
    "Is there a phone number I can call?", "I'd rather speak to an actual person if that's ok.",
    "Can you put me through to someone who can help?", "Please escalate this to a person.",
]
HUMAN_FURIOUS = [
    "LET ME TALK TO A HUMAN!!!", "Get me a real person NOW.", "I want to speak to your manager.",
    "Stop sending me bot replies and put me through to a human!", "agent. AGENT. AGENT!!!", "Is there ANYONE real there??",
    "I demand to speak to a supervisor.", "Just call me already!", "I'm done with this bot, give me a human.",
    "Transfer me to a real agent right now.", "CALL ME. Today.", "Somebody real needs to call me, now.",
    "Put a manager on the phone!", "I want a human being, not a chatbot!!",
]
HUMAN_CHATBOT = [
    "agent", "human", "representative please", "talk to agent", "operator", "speak to a person", "live agent",
    "real human pls", "customer service rep", "I need a human", "AGENT", "human please", "person please",
    "speak to representative", "connect me to an agent", "can i talk to someone", "talk to a real person",
    "representative", "live chat with a person", "transfer to agent",
]
HUMAN_HARD_NEGATIVES = [
    "No need to call me, email is fine.", "Please don't call me, I'm at work all day.",
    "Your agent Sarah was really helpful last time.", "I already spoke to an agent and she said to write here.",
    "I don't need to talk to anyone, just sort it out.", "The manager at the store told me to contact you online.",
    "The delivery person left it in the rain.", "You don't need to phone me.", "No need for a call, just email me.",
    "The driver called me when he arrived.", "The person who packed this clearly didn't care.",
    "I spoke to a manager last week who promised a new one.", "Your staff at the depot were friendly.",
    "The representative I chatted with yesterday said to email photos.", "My husband talked to your agent already.",
    "Someone from your team called me back, thank you.", "The customer service person was lovely on the phone.",
    "Your chat agent told me to upload photos here.", "A human clearly packed this in a hurry.",
    "The phone number on the website doesn't work, so I'm writing here.", "Tell your warehouse staff to use more padding.",
    "I'm happy to sort this out by email.", "No need to escalate, a quick fix is fine.",
]

ANGRY = [
    "This is ridiculous.", "Absolutely unacceptable!!!", "Worst service ever.", "I'm so done with you guys.",
    "Never ordering from you again.", "What a joke.", "I am furious.", "Seriously?!", "Unbelievable.",
    "This is the third time this has happened!", "I've been waiting two weeks and nobody has replied to my emails.",
    "Fix this NOW.", "How hard is it to pack a box properly?", "I'm sick of this.", "You should be ashamed.",
    "Pathetic service.", "I've wasted hours on this already.", "Still waiting for an answer, AGAIN.",
    "Three emails and not one reply.", "I'm beyond annoyed.", "Thanks for nothing.", "Disgusting service.",
    "This company is a scam.", "I'm really upset about this.", "Honestly this is a nightmare.",
    "It was a birthday present and now it's ruined. I'm so angry.", "I'm fed up.", "WTF",
    "I was on hold for 2 hours and got cut off.", "Every single time!", "Do better.", "Zero stars if I could.",
    "I'm very disappointed.", "Why is this so hard?!", "You people are useless.", "Absolute clowns.",
]
SARCASM = [
    "Great, just great.", "Wow, thanks a lot.", "Love waiting 3 weeks for a smashed box.", "Fantastic job as always.",
    "Amazing packaging, really.", "Thanks for the broken {item}, just what I wanted.", "Oh perfect, another broken {item}.",
    "Great, another broken {item}, thanks a lot.", "Well done, {shop}, well done.", "Five stars for creativity in destroying parcels.",
    "Brilliant. Just brilliant.", "Wonderful service, truly.", "Nice job, really impressive.",
]
CALM = [
    "No rush.", "These things happen.", "I'm not upset, just letting you know.", "Thanks for your help.",
    "Could you please look into it?", "Thank you in advance.", "I understand accidents happen.",
    "Not a big deal, but I wanted to let you know.", "Appreciate your help.", "Have a nice day.",
    "I'm not angry, just want it sorted.", "Hope you can help.", "I've attached photos.",
    "Photos attached.", "Let me know if you need anything else.", "Many thanks.",
]
SARC_POS = ["Great", "Wonderful", "Fantastic", "Amazing", "Perfect", "Brilliant", "Awesome", "Cool", "Nice", "Lovely",
            "Oh great", "Oh wonderful", "Wow, thanks", "Thanks so much", "Just perfect", "Super", "Outstanding",
            "Well done", "Really great", "Oh fantastic"]
SARC_FACT = ["another broken {item}", "my {item} arrived in pieces", "two hours on hold", "a soaked parcel on my doorstep",
             "my flight cancelled again", "my bag lost again", "a cracked {item} for my birthday",
             "paying extra for express shipping to get a crushed box", "the same broken {item} twice",
             "a {item} with a giant scratch", "a box that looks like it went through a blender",
             "waiting three weeks for a dented {item}", "my package thrown over the fence",
             "a 6 hour delay with zero updates", "the chatbot sending me the same link five times",
             "a refund that takes two months", "a brand new {item} that's already cracked"]
SARC_FORMS = [
    "{pos}, {fact}.", "{pos}. {Fact}. Thanks a lot.", "{pos}, just {fact}. Exactly what I wanted.",
    "Nothing says quality like {fact}.", "{pos} service, {fact}. Really impressive.", "Love getting {fact} 🙃",
    "{pos}! {Fact}! Keep it up guys.", "10/10, {fact}, would recommend... not.", "{pos}. {Fact}. Classic.",
    "{Fact}. {pos} job as usual.", "Thanks for {fact}, really appreciate it 🙄", "{pos}, {fact}, just what I needed today.",
]
ANGRY_OPEN = ["I can't believe", "It's ridiculous that", "I'm so annoyed that", "Honestly fed up that", "It's unacceptable that",
              "I'm furious that", "Why is it that", "How is it possible that", "I'm sick of the fact that",
              "Really disappointed that", "It drives me mad that"]
ANGRY_FACT = ["nobody answers my emails", "this keeps happening", "I have to chase you every single time",
              "I've been waiting over a week", "you keep ignoring me", "I paid full price for this",
              "the tracking has been lying to me for days", "I was on hold for an hour", "it's the second time this month",
              "no one takes responsibility", "your chat just sends me in circles", "I have to explain this again"]
CALM_EXTRA = ["Just wanted to let you know.", "I'd appreciate it if you could check.", "Thanks for looking into this.",
              "No worries if it takes a few days.", "I know these things happen in transit.", "Happy to send more photos if needed.",
              "Hope you're having a good day.", "Please let me know what you need from me.", "I'm sure it was just bad luck.",
              "Otherwise the order was fine."]

OPENERS = ["", "", "", "Hi,", "Hello,", "Hi there,", "Hello team,", "Dear customer service,", "Hey,", "Good morning,",
           "Hi {shop},", "{shop}", "{shop}", "Hey {shop}", "Ugh.", "So,", "Hello, order #{num} here."]
CLOSINGS = ["", "", "", "Thanks,", "Regards, Anna", "Kind regards, Tom", "Cheers", "- Maria", "Thanks in advance",
            "Order #{num}", "Sent from my iPhone"]
ANGRY_TAGS = ["#fail", "#worstservice", "#neveragain", "#customerservice", "#unacceptable", "😡", "🤬", "😤", "🙄", "👎"]
CALM_TAGS = ["🙂", ":)", "🙏", ""]
CONTEXT = [
    "I ordered it for my mum's birthday.", "It was delivered yesterday.", "It arrived this morning.",
    "Order #{num}.", "I've had it for one day.", "{courier} just dropped it off.", "It was a wedding gift.",
    "I ordered it two weeks ago.", "It was well wrapped on the inside.", "There was barely any padding.",
]
POSITIVE = [
    "Thank you so much, the {item} arrived in perfect condition!", "{shop} you guys rock, the replacement arrived in 2 days 🙌",
    "Love my new {item}! Thanks!", "Great service, the refund came through quickly. Thank you!",
    "Super helpful agent today, thanks Mike!", "Flight was on time and the crew was lovely ✈️ #happy",
    "Thanks for sorting this so fast, really appreciate it.", "The {item} is beautiful, exactly what I wanted ❤️",
    "Best customer service I've had in years, thank you!", "{airline} thank you for the smooth flight and the free upgrade!",
    "Just wanted to say the new {item} arrived safe and sound. Great packing!", "Wow, that was quick! Thanks so much 😊",
    "{airline} your crew on flight 221 was amazing, thank you!", "Really impressed with how you handled my claim. Thanks!",
    "Got the {item} today, very happy with it.", "Thank you for the quick response, all sorted now 👍",
    "{shop} delivery was super fast, the {item} is perfect!", "Kudos to your support team, they fixed it in minutes.",
    "{airline} loved the new seats, great flight!", "Thanks for the replacement, this one is perfect.",
]
NEUTRAL = [
    "What's the status of my order #{num}?", "Do you deliver on Sundays?", "How long does shipping to Ireland take?",
    "Can I change my delivery address?", "{airline} what's the baggage allowance for international flights?",
    "Is the {item} back in stock?", "How do I track my parcel?", "Do you ship to Canada?",
    "Can I add something to my order #{num}?", "What time does the store close today?",
    "{airline} is flight 1432 still on time?", "Can I pay with PayPal?", "What's your returns policy?",
    "Does the {item} come with a warranty?", "Hi, I'd like to update my email address.",
    "How do I return an item that I don't need?", "Where can I find my invoice?", "Is there a discount for students?",
]

POS_OPEN = ["Thank you so much", "Thanks a lot", "Huge thanks", "Just wanted to say thanks", "Big shoutout to your team",
            "Wow", "So happy", "Really impressed", "Honestly amazing", "Kudos", "Thank you", "Many thanks", "Love it",
            "Five stars", "Great job", "Props to you guys", "thx", "Awesome"]
POS_DETAIL = ["the {item} arrived in perfect condition", "the replacement came super fast", "your agent was so helpful",
              "the refund hit my account already", "the flight was smooth and on time", "the crew was amazing",
              "the packaging was excellent", "the delivery was a day early", "customer service sorted it in minutes",
              "my new {item} looks amazing", "the {item} is even better than in the pictures",
              "you replaced my broken {item} without any fuss", "the chat support fixed my problem right away",
              "the driver was really friendly", "the upgrade to first class made my week",
              "the gate staff were lovely to my kids", "the {item} works perfectly", "my bag was first off the belt"]
POS_CLOSE = ["!", "! 😊", "! ❤️", ". Will order again.", ". 10/10", "! #happycustomer", ". You guys rock!", " 👍", "! 🙌",
             ".", "!!", " :)", ". Appreciate it."]

TYPO_SWAPS = {"the": "teh", "received": "recieved", "arrived": "arived", "because": "becuase", "please": "pls",
              "you": "u", "your": "ur", "really": "realy", "broken": "brokn", "package": "pakage",
              "refund": "refund", "replacement": "replacment", "definitely": "definately", "with": "wiht"}
CALM_NEGATED = [
    ("I don't need to talk to anyone, just send a new {item}.", "replacement", 0), 
    ("Not asking for a refund, just letting you know the {item} was cracked.", "unspecified", 0),
    ("No need to call me, email is fine. The {item} has a scratch.", "unspecified", 0),
    ("I'm not upset, the {item} is only slightly dented.", "unspecified", 0),
    ("I don't want my money back, I'd just like a {item} that isn't broken.", "replacement", 0),
    ("Nobody needs to phone me, just send another {item} please.", "replacement", 0),
    ("I don't mind waiting, could you send a replacement {item}?", "replacement", 0),
    ("Not a complaint really, the box was crushed but the {item} is fine.", "unspecified", 0),
    ("No need to escalate, I'd just like a refund for the broken {item}.", "refund", 0),
    ("I'm not angry, I just want a refund for the {item}.", "refund", 0),
    ("Don't worry about a replacement, a refund is fine.", "refund", 0),
    ("I won't need a call, just refund the {item} please.", "refund", 0),
]
NON_NATIVE = [
    ("Hello, the {item} is arrive broken. Please I want refund of my money.", "refund", 0, 0, "broken"),
    ("Good day. I receive the package today but box is all crush and {item} inside have crack.", "unspecified", 0, 0,
     "crushed_packaging;broken"),
    ("Please I need to speak with one person, not the machine. My {item} is broken.", "unspecified", 1, 0, "broken"),
    ("Sir, the {item} come with many scratch. I want change for new one please.", "replacement", 0, 0, "surface_damage"),
    ("Is very bad service!! Third time the box arrive wet. I want my money return!!", "refund", 0, 1, "water_damage"),
    ("Hello, kindly send other {item}, this one is broke when I open.", "replacement", 0, 0, "broken"),
    ("I am very angry, the {item} is total destroy and nobody answer my mails.", "unspecified", 0, 1, "broken"),
    ("Please can somebody call to me, I not understand what to do with the broken {item}.", "unspecified", 1, 0, "broken"),
    ("The paket was open and {item} have scratches. Please refund.", "refund", 0, 0, "torn_packaging;surface_damage"),
    ("Dear, product arrive in good condition but is wrong color. What I can do?", "unspecified", 0, 0, "no_damage"),
]
