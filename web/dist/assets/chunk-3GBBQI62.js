import{a as f}from"./chunk-QKYC3Y57.js";import{e as d,f as p,o as i,p as n}from"./chunk-E7KRYPS3.js";var h=["p","div","br","b","strong","i","em","ul","ol","li","a"];function b(c){let a=f();return a.addHook("afterSanitizeAttributes",t=>{if(t.tagName==="A"){let l=t.getAttribute("href")||"";/^(https?:|mailto:)/i.test(l)||t.removeAttribute("href")}}),a.sanitize(c,{ALLOWED_TAGS:h,ALLOWED_ATTR:["href"],ALLOW_DATA_ATTR:!1})}function v(c){let a=new DOMParser().parseFromString(`<body>${c}</body>`,"text/html").body,t="",l=(u,o)=>{for(let e of u.childNodes){if(e.nodeType===3){t+=e.nodeValue.replace(/\s+/g," ");continue}if(e.nodeType!==1)continue;let s=e.tagName;if(s==="BR"){t+=`
`;continue}if(s==="UL"||s==="OL"){t&&!t.endsWith(`
`)&&(t+=`
`),l(e,{ordered:s==="OL",n:0});continue}if(s==="LI"){t&&!t.endsWith(`
`)&&(t+=`
`),t+=o&&o.ordered?`${++o.n}. `:"* ",l(e,null),t+=`
`;continue}if(s==="P"||s==="DIV"){t&&!t.endsWith(`
`)&&(t+=`
`),l(e,o),t.endsWith(`
`)||(t+=`
`);continue}if(l(e,o),s==="A"){let r=e.getAttribute("href");r&&r.replace(/^mailto:/,"")!==e.textContent.trim()&&(t+=` <${r}>`)}}};return l(a,null),t.replace(/[ \t]+\n/g,`
`).replace(/\n{3,}/g,`

`).trim()+`
`}function y(c){let a=t=>t.replace(/&/g,"&amp;").replace(/</g,"&lt;").replace(/>/g,"&gt;");return c.split(`
`).map(t=>`<div>${t?a(t):"<br>"}</div>`).join("")}function k({html:c,onInput:a,api:t,labelId:l}){let u=p(null);d(()=>{u.current.innerHTML=b(c||""),t.current={html:()=>b(u.current.innerHTML)}},[]);let o=r=>r.preventDefault(),e=(r,m)=>()=>{u.current.focus(),document.execCommand(r,!1,m),a()},s=()=>{let r=window.prompt(i("linkAddress"),"https://");u.current.focus(),r&&/^(https?:|mailto:)/i.test(r.trim())&&document.execCommand("createLink",!1,r.trim()),a()};return n("div",{class:"rich",children:[n("div",{class:"rich-tools",role:"toolbar","aria-label":i("formatting"),children:[n("button",{type:"button",onMouseDown:o,onClick:e("bold"),title:i("bold"),children:[n("b",{"aria-hidden":"true",children:"B"}),n("span",{class:"vh",children:i("bold")})]}),n("button",{type:"button",onMouseDown:o,onClick:e("italic"),title:i("italic"),children:[n("i",{"aria-hidden":"true",children:"I"}),n("span",{class:"vh",children:i("italic")})]}),n("button",{type:"button",onMouseDown:o,onClick:e("insertUnorderedList"),title:i("bulletList"),children:[n("span",{"aria-hidden":"true",children:"•"}),n("span",{class:"vh",children:i("bulletList")})]}),n("button",{type:"button",onMouseDown:o,onClick:e("insertOrderedList"),title:i("numberedList"),children:[n("span",{"aria-hidden":"true",children:"1."}),n("span",{class:"vh",children:i("numberedList")})]}),n("button",{type:"button",onMouseDown:o,onClick:s,title:i("link"),children:[n("span",{"aria-hidden":"true",children:"🔗"}),n("span",{class:"vh",children:i("link")})]})]}),n("div",{ref:u,class:"rich-area",contentEditable:!0,role:"textbox","aria-multiline":"true","aria-labelledby":l,onInput:a})]})}export{k as RichEditor,b as clean,y as fromText,v as toText};
