"""What the web chat page carries besides its components: its texts, its CSS and the two
small scripts (citation clicks sent to Python; the cited passage scrolled into view)."""
from qa.settings import MODES
from qa.web.uploads import MAX_FILE_MB, MAX_FILES, UPLOAD_SUFFIXES

HEADER_HTML = ('<div class="zq-header"><h1>zhqa · 中文新闻问答 <span class="zq-en">Chinese news Q&amp;A</span></h1>'
               '<p>答案是新闻原文的逐字摘录，每一句都附出处。<span class="zq-en">Answers are verbatim extracts from the '
               'articles, each with its source.</span></p></div>')
MODE_CHOICES = [("混合 Hybrid", "hybrid"), ("向量 Dense", "dense"), ("关键词 BM25", "bm25")]
assert [v for _, v in MODE_CHOICES] == list(MODES)
EVAL_MODE_CHOICES = MODE_CHOICES + [("全部 All", "all")]

EXAMPLES = (
    "清徐县是在哪里发现初筛阳性人员的？",
    "董健是谁？",
    "董健的妻子是做什么的？",
    "李楠的孩子生病时他在做什么？",
    "清徐縣有多少名黨員深入抗疫一線？",
    "How many party members went to the front line in Qingxu?",
)
UPLOAD_NOTE = (
    f"上传 {' '.join(UPLOAD_SUFFIXES)} 文件，它们会被增量索引，无需重启即可检索。上传的文档只会新增，"
    f"不会替换语料中的文章；上传的文档可在「语料」中删除。每个文件不超过 {MAX_FILE_MB} MB，一次最多 {MAX_FILES} 个。\n\n"
    f"Upload {', '.join(UPLOAD_SUFFIXES)} files: they are indexed incrementally and searchable at once. "
    "Uploads add documents (ids of their own, `upload/…`), never replace an article of the corpus; "
    "remove them in the Corpus tab. "
    f"At most {MAX_FILE_MB} MB per file and {MAX_FILES} files at a time. A .jsonl file holds one "
    "article per line: `id` and `text` required, `title`, `source`, `date` optional.")
EVAL_NOTE = ("评测使用本应用已加载的索引。题目所指的文章若不在索引中，该题计为未检索到。\n\n"
             "Evaluated against the index this app has loaded: a question whose documents are not in the index "
             "simply counts as a miss. Click a failed question to ask it in the chat.")

# A document-wide click handler: a citation link anywhere (chat, "why", corpus) is sent to
# Python as a click event of the header component, with its href.
BRIDGE_JS = """
window.__zqOpen = trigger;
if (!window.__zqListening) {
  window.__zqListening = true;
  document.addEventListener('click', (event) => {
    const link = event.target && event.target.closest ? event.target.closest('a.zq-cite') : null;
    if (!link) return;
    const href = link.getAttribute('href') || '';
    if (!href.startsWith('#zq/')) return;
    event.preventDefault();
    event.stopPropagation();
    window.__zqOpen('click', {href: href});
  }, true);
}
"""
# In an article view: bring the highlighted passage into view whenever the article changes.
SCROLL_JS = """
watch('value', () => {
  const mark = element.querySelector('mark#zq-hl');
  let box = mark ? mark.parentElement : element;
  while (box && box !== document.body && !(box.scrollHeight > box.clientHeight + 1 &&
         ['auto', 'scroll'].includes(getComputedStyle(box).overflowY))) { box = box.parentElement; }
  if (box && box !== document.body) {
    box.scrollIntoView({block: 'nearest'});
    box.scrollTop = mark ? box.scrollTop + mark.getBoundingClientRect().top - box.getBoundingClientRect().top - box.clientHeight / 3 : 0;
  } else if (mark) {
    mark.scrollIntoView({block: 'center'});
  }
});
"""

CSS = """
.zq-header h1 { margin: 0 0 .15em 0; font-size: 1.55em; }
.zq-header p { margin: 0; }
.zq-en { color: var(--body-text-color-subdued); font-size: .92em; }
.zq-stats { color: var(--body-text-color-subdued); font-size: .9em; margin-top: .3em; }
.zq-question { white-space: pre-wrap; }
.zq-answer { line-height: 1.75; }
.zq-answer p { margin: .15em 0 .45em 0; }
.zq-snippet { font-size: 1.03em; }
a.zq-cite { font-weight: 600; text-decoration: none; color: var(--color-accent); cursor: pointer; }
a.zq-cite:hover { text-decoration: underline; }
.zq-sources { margin-top: .5em; border-top: 1px solid var(--border-color-primary); padding-top: .35em; }
.zq-sources-h { font-size: .85em; font-weight: 600; color: var(--body-text-color-subdued); margin-bottom: .2em; }
.zq-source { border-left: 3px solid var(--color-accent); padding: .25em .6em; margin: .35em 0;
             background: var(--background-fill-secondary); border-radius: 0 6px 6px 0; }
.zq-source-h { font-size: .9em; }
.zq-title { font-weight: 600; }
.zq-sep, .zq-unknown, .zq-docid { color: var(--body-text-color-subdued); }
.zq-docid { font-size: .8em; font-family: var(--font-mono); }
.zq-passage { font-size: .92em; margin: .2em 0; }
.zq-source-f { font-size: .85em; }
mark { background: #fde68a; color: #1f2937; padding: 0 .1em; border-radius: 2px; }
mark#zq-hl { background: #fcd34d; box-shadow: 0 0 0 2px #f59e0b; }
.zq-rewrite { font-size: .9em; background: var(--background-fill-secondary); border-radius: 6px;
              padding: .15em .5em; margin-bottom: .35em; display: inline-block; }
.zq-noanswer { font-size: 1.03em; }
.zq-hint { font-size: .9em; color: var(--body-text-color-subdued); }
#zq-article, #zq-corpus-article { border: 1px solid var(--border-color-primary); border-radius: 8px;
                                  background: var(--background-fill-primary); }
.zq-article-title { margin: .1em 0 .2em 0; font-size: 1.15em; }
.zq-meta { font-size: .85em; color: var(--body-text-color-subdued); margin-bottom: .6em; }
.zq-text { white-space: pre-wrap; line-height: 1.8; font-size: .95em; }
.zq-hint { color: var(--body-text-color-subdued); padding: 1em .3em; }
.zq-why { font-size: .88em; }
.zq-why-h { margin-bottom: .4em; }
.zq-hit { border: 1px solid var(--border-color-primary); border-radius: 6px; padding: .35em .5em; margin: .4em 0; }
.zq-hit.zq-used { border-color: var(--color-accent); }
.zq-hit-h { font-size: .95em; }
.zq-hit-text { color: var(--body-text-color-subdued); font-size: .92em; margin: .15em 0; }
.zq-rank { font-weight: 700; }
.zq-badge { font-size: .78em; border-radius: 4px; padding: 0 .35em; background: var(--background-fill-secondary);
            border: 1px solid var(--border-color-primary); }
table.zq-scores { width: 100%; border-collapse: collapse; margin: .2em 0 0 0; font-size: .95em; border: none; }
table.zq-scores tr, table.zq-scores th, table.zq-scores td { border: none !important; background: transparent !important; }
table.zq-scores th { text-align: left; font-weight: 500; color: var(--body-text-color-subdued); width: 38%; padding: .05em .3em; }
table.zq-scores td { padding: .05em .3em; font-family: var(--font-mono); }
.zq-term { display: inline-block; font-family: var(--font); background: #dbeafe; color: #1e3a8a; border-radius: 4px;
           padding: 0 .3em; margin: 0 .2em .1em 0; }
table.zq-corpus { width: 100%; border-collapse: collapse; font-size: .93em; border: none !important; }
table.zq-corpus tr, table.zq-corpus th, table.zq-corpus td { border: none !important; background: transparent !important; }
table.zq-corpus th { text-align: left; border-bottom: 2px solid var(--border-color-primary) !important; padding: .35em .4em; }
table.zq-corpus td { border-bottom: 1px solid var(--border-color-primary) !important; padding: .35em .4em; vertical-align: top; }
table.zq-corpus a.zq-cite { font-weight: 600; }
.zq-num { text-align: right; }
.zq-nowrap { white-space: nowrap; }
.zq-upload-report ul { margin: .2em 0 .2em 1.2em; }
#zq-examples button { font-weight: 400; }
table.zq-eval { border-collapse: collapse; font-size: .9em; margin: .3em 0 .8em 0; border: none !important; }
table.zq-eval tr, table.zq-eval th, table.zq-eval td { border: none !important; background: transparent !important; }
table.zq-eval th { text-align: left; border-bottom: 2px solid var(--border-color-primary) !important; padding: .25em .5em; }
table.zq-eval td { border-bottom: 1px solid var(--border-color-primary) !important; padding: .25em .5em; vertical-align: top; }
table.zq-eval td.zq-num { font-family: var(--font-mono); }
table.zq-eval-metrics tr > th:first-child, table.zq-eval-types tr > th:first-child { font-family: var(--font-mono); font-weight: 500; }
table.zq-eval-failures { width: 100%; }
table.zq-eval-failures td:nth-child(3) { min-width: 14em; }
table.zq-eval-failures td:nth-child(6) { min-width: 12em; }
table.zq-eval-failures a.zq-ask { font-weight: 500; }
.zq-eval-section h3 { margin: .2em 0 .3em 0; font-size: 1.05em; }
.zq-eval-summary { margin: .2em 0 .5em 0; }
#zq-eval-plot svg { max-width: 100%; height: auto; }
#zq-eval-plot svg text { fill: var(--body-text-color); }
.zq-uploaded { background: #fef3c7; color: #92400e; border-color: #f59e0b; }
"""
